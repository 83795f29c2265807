"""`python -m bot demo` on a terminal: prompt, rendered embeds and a button press, via a pty."""

from __future__ import annotations

import re
import sys

import pexpect

from tests.e2e.test_demo import URGENT, demo_env

CRISIS_ORANGE = "38;2;231;111;81"  # the crisis embed colour #E76F51 as a truecolor escape
PROMPT = re.escape("[#general as member]>")


def seen(child: pexpect.spawn, pattern: str) -> str:
    """Wait for `pattern`; return everything the terminal showed up to and including it."""
    child.expect(pattern)
    return child.before + child.after


def test_interactive_chat_renders_embeds_and_presses_buttons(tmp_path):
    env = demo_env(TERM="xterm-256color", COLORTERM="truecolor", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(sys.executable, ["-m", "bot", "demo"], cwd=str(tmp_path), env=env,
                          encoding="utf-8", timeout=60, dimensions=(60, 120))
    try:
        child.expect("Type a message, or a slash command")
        child.expect(PROMPT)

        child.sendline(URGENT)
        embed = "".join(seen(child, pattern) for pattern in (
            "RecoveryBot replied to you",
            "Please reach out for help right now",  # the embed's title, on its panel
            "988 Suicide & Crisis Lifeline",
            re.escape("[1] Lines for another country")))
        child.expect(PROMPT)
        assert "╭" in embed and CRISIS_ORANGE in embed

        child.sendline("/press 1")
        child.expect(re.escape("(only you can see this)"))
        child.expect("Which country are you in")
        child.expect(r"\[(\d+)\] United Kingdom")
        uk = child.match.group(1)
        child.expect(PROMPT)

        child.sendline(f"/press {uk}")
        child.expect("RecoveryBot updated its message")
        child.expect("Crisis lines: United Kingdom")
        child.expect("Samaritans")
        child.expect(PROMPT)

        child.send("/topic name:nalo\t")  # Tab asks the bot's own autocomplete
        child.expect(re.escape("Medicines for opioid use disorder (MOUD)"))
        child.send("\t\r")  # pick the first suggestion (the overdose topic), send it
        child.expect(re.escape("RecoveryBot (only you can see this)"))
        child.expect(re.escape("Overdose signs and naloxone (Narcan)"))  # the embed's title
        child.expect("Key points")
        child.expect(PROMPT)

        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert list(tmp_path.iterdir()) == []  # nothing written where the demo ran

