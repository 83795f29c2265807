"""`python -m bot check|run|scan` as a person runs them: exit codes and messages."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.paths import bundled_content_dir


def run_cli(*args, env_extra=None, stdin=None, cwd=None):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DISCORD_TOKEN", "CONTENT_DIR", "LOG_LEVEL", "DATABASE_PATH"}}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True,
                          text=True, env=env, input=stdin, timeout=120, cwd=cwd)


@pytest.fixture
def content_copy(tmp_path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(bundled_content_dir(), target)
    return target


def test_check_passes_on_shipped_content(tmp_path):
    """The bundled content is valid: check exits 0 and reports what it loaded."""
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "check passed" in result.stdout
    assert "topics" in result.stdout and "crisis rules" in result.stdout


def test_check_names_file_and_field_of_a_broken_topic(content_copy, tmp_path):
    """A topic without its summary fails check, naming the file and the field."""
    path = content_copy / "topics" / "ptsd.yaml"
    data = yaml.safe_load(path.read_text())
    del data["summary"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = run_cli("check", env_extra={"CONTENT_DIR": str(content_copy)}, cwd=tmp_path)
    assert result.returncode == 1
    assert "ptsd.yaml" in result.stderr and "summary" in result.stderr
    assert "check failed" in result.stderr


def test_check_reports_every_problem_not_just_the_first(content_copy, tmp_path):
    """Broken YAML in one file and a bad crisis-line URL in another are both listed."""
    (content_copy / "topics" / "kratom.yaml").write_text("id: kratom\ntitle: [unclosed\n")
    hotlines = content_copy / "hotlines.yaml"
    hotlines.write_text(hotlines.read_text().replace("https://", "notaurl://", 1))
    result = run_cli("check", env_extra={"CONTENT_DIR": str(content_copy)}, cwd=tmp_path)
    assert result.returncode == 1
    assert "kratom.yaml" in result.stderr and "line" in result.stderr
    assert "hotlines.yaml" in result.stderr


def test_check_fails_when_a_crisis_rule_example_fails(content_copy, tmp_path):
    """A rule whose must-match example no longer matches stops check and names the rule file."""
    rule_files = sorted((content_copy / "crisis").glob("*.yaml"))
    assert rule_files, "bundled crisis rules are missing"
    target = next(p for p in rule_files if "match:" in p.read_text())
    text = target.read_text()
    # Append an example that no crisis rule can match to the first must-match list.
    broken = text.replace("match:\n", "match:\n      - \"the weather is mild today\"\n", 1)
    assert broken != text
    target.write_text(broken)
    result = run_cli("check", env_extra={"CONTENT_DIR": str(content_copy)}, cwd=tmp_path)
    assert result.returncode == 1
    assert target.name in result.stderr


def test_check_rejects_a_missing_content_dir(tmp_path):
    """A CONTENT_DIR that does not exist is named with a fix."""
    result = run_cli("check", env_extra={"CONTENT_DIR": str(tmp_path / "nope")}, cwd=tmp_path)
    assert result.returncode == 1
    assert "CONTENT_DIR" in result.stderr and "Fix:" in result.stderr


def test_run_without_token_points_at_env_example(tmp_path):
    """Starting without DISCORD_TOKEN exits non-zero and says where to put the token."""
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 1
    assert "DISCORD_TOKEN" in result.stderr and ".env.example" in result.stderr


def test_invalid_setting_is_named_with_allowed_values(tmp_path):
    """A bad LOG_LEVEL names the variable and the allowed values; nothing starts."""
    result = run_cli("run", env_extra={"DISCORD_TOKEN": "x", "LOG_LEVEL": "chatty"},
                     cwd=tmp_path)
    assert result.returncode == 1
    assert "LOG_LEVEL" in result.stderr and "DEBUG" in result.stderr


def test_scan_cli_end_to_end(tmp_path):
    """`python -m bot scan` answers each line in order and never echoes the text."""
    marker = "zq-scan-marker-41"
    lines = [f"i am going to kill myself tonight {marker}",
             f'{{"text": "this exam is killing me {marker}"}}', "{not json"]
    result = run_cli("scan", "--summary", stdin="\n".join(lines) + "\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 3
    assert out[0]["crisis"] is True and out[0]["category"] == "suicide"
    assert out[1] == {"crisis": False, "category": None, "severity": None, "subject": None,
                      "rule": None}
    assert "error" in out[2]
    assert marker not in result.stdout and marker not in result.stderr


def test_unreachable_discord_is_a_clear_error(tmp_path):
    """When Discord cannot be reached, run exits 1 with a sentence, not a traceback."""
    result = run_cli("run", env_extra={"DISCORD_TOKEN": "x",
                                       "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",
                                       "DATABASE_PATH": str(tmp_path / "db.sqlite3")},
                     cwd=tmp_path)
    assert result.returncode == 1
    assert "could not reach Discord" in result.stderr
    assert "Traceback" not in result.stderr


def test_rejected_token_says_so_plainly(tmp_path):
    """A token the API answers with 401 is reported as rejected, naming DISCORD_TOKEN."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Unauthorized(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"message": "401: Unauthorized", "code": 0}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Unauthorized)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/api/v10"
        result = run_cli("run", env_extra={"DISCORD_TOKEN": "bad", "DISCORD_API_BASE": base,
                                           "DATABASE_PATH": str(tmp_path / "db.sqlite3")},
                         cwd=tmp_path)
    finally:
        server.shutdown()
    assert result.returncode == 1
    assert "rejected DISCORD_TOKEN" in result.stderr and "401" in result.stderr
    assert "Traceback" not in result.stderr


def test_scan_explain_and_rules_only(tmp_path):
    """--explain says which part decided and the model's probability; --rules-only skips
    the model, so wording no rule names is not a crisis there."""
    line = "i want to end it tonight\n"
    explained = run_cli("scan", "--explain", stdin=line, cwd=tmp_path)
    assert explained.returncode == 0, explained.stderr
    out = json.loads(explained.stdout)
    assert out["crisis"] is True and out["decided_by"] == "model" and out["rule_hit"] is None
    assert out["probability"] >= 0.5
    alone = run_cli("scan", "--rules-only", stdin=line, cwd=tmp_path)
    assert json.loads(alone.stdout)["crisis"] is False
    assert "end it" not in explained.stdout + explained.stderr + alone.stdout + alone.stderr
