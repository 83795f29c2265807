"""`python -m bot demo` driven through standard input, as a newcomer's script would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MARK = "qzv7-private-words"  # must never reach a log line or a file
URGENT = "I am going to kill myself tonight"
CONCERN = "I want to die"
FIGURATIVE = f"this exam is killing me {MARK}"

SCRIPT = [
    CONCERN,                                      # 0  US lines (the server's en-US locale)
    FIGURATIVE,                                   # 1  nothing
    "/topic name:naloxone",                       # 2  the summary, only for you
    f"/topic name:{MARK}",                        # 3  not found; the name is not echoed
    "/settings region country:GB",                # 4  member: refused
    "/stats",                                     # 5  member: refused
    "/as moderator",                              # 6
    "/settings region country:GB",                # 7  accepted
    "/settings alert-channel channel:mod-alerts",  # 8  accepted
    "/settings reply-mode mode:dm",               # 9  accepted
    URGENT,                                       # 10 escalation: GB lines by DM, and an alert
    URGENT,                                       # 11 within the cooldown: nothing, and why
    "/press 1",                                   # 12 "Lines for another country" (in the DM)
    "/stats",                                     # 13 the counts
    "/quit",                                      # 14
    "/topics",                                    # after /quit: never read
]


def demo_env(**extra: str) -> dict[str, str]:
    """The caller's environment without bot settings that would change the demo."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_PATH", "LOG_LEVEL", "DISCORD_TOKEN", "DEV_GUILD_ID",
                        "CONTENT_DIR", "PSEUDONYM_KEY")}
    return {**env, **extra}


def run_demo(lines: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "demo"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, cwd=cwd, env=demo_env(**env),
                          timeout=120)


def blocks(stdout: str) -> list[str]:
    """The output for each input line, in order (each starts with '> line')."""
    parts = stdout.split("\n> ")
    parts[0] = parts[0].removeprefix("> ")
    return parts


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], list[str], Path]:
    tmp = tmp_path_factory.mktemp("demo")
    db = tmp / "kept" / "demo.sqlite3"
    done = run_demo(SCRIPT, tmp, DATABASE_PATH=str(db), LOG_LEVEL="DEBUG")
    return done, blocks(done.stdout), db


def test_runs_the_script_and_stops_at_quit(session):
    """Exit 0, one block per line up to /quit, plain text without colour codes."""
    done, out, _ = session
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(out) == SCRIPT.index("/quit") + 1
    assert [b.splitlines()[0] for b in out] == SCRIPT[:len(out)]
    assert "\x1b[" not in done.stdout


def test_crisis_message_gets_the_servers_crisis_lines(session):
    """A crisis message in an en-US server gets US lines and the other-country button."""
    block = session[1][0]
    assert "[#general] RecoveryBot replied to you:" in block
    assert "988 Suicide & Crisis Lifeline" in block
    assert "[1] Lines for another country" in block
    assert "only you can see this" not in block


def test_figurative_message_gets_nothing(session):
    assert session[1][1].splitlines()[1:] == ["", "(No reply.)"]


def test_topic_shows_the_summary_to_you_only(session):
    block = session[1][2]
    assert "[#general] RecoveryBot (only you can see this):" in block
    assert "== Overdose signs and naloxone (Narcan) ==" in block
    assert "* Key points" in block and "* Sources" in block
    assert MARK not in session[1][3].split("\n", 1)[1]


def test_settings_and_stats_are_refused_to_a_member(session):
    out = session[1]
    assert "Only members with the Manage Server permission" in out[4]
    assert "Only members with the Manage Server permission can see statistics" in out[5]


def test_settings_are_accepted_from_a_moderator(session):
    out = session[1]
    assert "You are now a moderator" in out[6]
    assert "Region set to United Kingdom (GB)." in out[7]
    assert "Crisis alerts will go to #mod-alerts" in out[8]
    assert "Crisis replies now go by DM." in out[9]


def test_region_reply_mode_and_alert_channel_take_effect(session):
    """After the changes: UK lines by DM, and the moderators' alert, which never quotes."""
    block = session[1][10]
    reply, alert = block.split("\n\n[#mod-alerts] MODERATOR ALERT from RecoveryBot:")
    assert "[direct message] RecoveryBot:" in reply
    assert "Samaritans" in reply and "116 123" in reply
    assert "moderators have been told" in reply
    assert "#general" in alert and "@You" in alert
    assert URGENT not in alert


def test_cooldown_is_shown_not_hidden(session):
    block = session[1][11]
    assert "(No reply. RecoveryBot noticed suicide language (urgent)" in block
    assert "already answered you less than 30 minutes ago" in block


def test_other_country_button_opens_the_country_menu(session):
    block = session[1][12]
    assert "[direct message] RecoveryBot (only you can see this):" in block
    assert "Which country are you in?" in block
    assert "Menu (Choose a country):" in block and "United Kingdom" in block


def test_stats_show_the_counts(session):
    block = session[1][13]
    assert "== Usage in the last 30 day(s) ==" in block
    assert "overdose: 1" in block  # the naloxone topic
    assert "suicide/concern: fewer than 5" in block
    assert "suicide/urgent: fewer than 5" in block


def test_no_message_text_in_logs_or_files(session):
    """Even at LOG_LEVEL=DEBUG the demo's logs and database hold no message text."""
    done, _, db = session
    assert "DEBUG" in done.stderr  # the debug logs were on
    for text in (MARK, URGENT, CONCERN, "killing me"):
        assert text not in done.stderr
    files = [p for p in db.parent.rglob("*") if p.is_file()]
    assert db in files
    for path in files:
        data = path.read_bytes()
        assert MARK.encode() not in data and b"kill myself" not in data, path


def test_mistakes_are_explained_and_dms_work(tmp_path):
    """Typing mistakes get the demo's help, not a crash; nothing is written to the folder."""
    done = run_demo(["/nope", "/settings", "/hotline GB", "/settings cooldown minutes:x",
                     "/press 3", "/dm", "/hotline", "/channel lobby"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    out = blocks(done.stdout)
    assert "No command /nope. The bot's commands: crisis-replies, hotline" in out[0]
    assert "/settings needs one of: show, region" in out[1]
    assert "== Crisis lines: United Kingdom ==" in out[2]  # a bare value fills the option
    assert "minutes: must be a number" in out[3]
    assert "There is no choice 3" in out[4]
    assert "[direct message] RecoveryBot (only you can see this):" in out[6]
    assert "== Crisis lines worldwide ==" in out[6]  # no country chosen for DMs yet
    assert "No channel 'lobby'. Channels: general, check-ins, mod-alerts" in out[7]
    assert list(tmp_path.iterdir()) == []  # the throwaway database lived elsewhere
