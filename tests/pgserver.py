"""A throwaway PostgreSQL server for the tests and the benchmark: initdb + pg_ctl in a
temporary folder, listening on 127.0.0.1 at a free port, removed on stop.

PostgreSQL refuses to run as root, so as root the server runs as the unprivileged user
``nobody``. The binaries are found on PATH or in Debian's /usr/lib/postgresql/*/bin.
Durability is switched off (fsync, synchronous_commit): the data is thrown away anyway.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

USER, PASSWORD = "bot", "throwaway-secret-pw"


class PgUnavailable(Exception):
    """No PostgreSQL server could be started here; the message says why."""


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(cand, "initdb").exists() and Path(cand, "pg_ctl").exists():
            return Path(cand)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """Start with `PgServer.start()`; `url(db)` for a connection URL; `stop()` when done."""

    def __init__(self, bindir: Path, root: Path, port: int, run_as: str | None):
        self.bindir, self.root, self.port, self.run_as = bindir, root, port, run_as

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        kwargs = {"user": self.run_as} if self.run_as else {}
        exe = self.bindir / args[0]
        if not exe.exists():  # psql may live elsewhere on PATH than the server binaries
            exe = Path(shutil.which(args[0]) or exe)
        return subprocess.run([str(exe), *args[1:]], capture_output=True,
                              text=True, timeout=timeout, check=False, cwd=self.root,
                              **kwargs)

    @classmethod
    def start(cls) -> PgServer:
        bindir = find_bindir()
        if bindir is None:
            raise PgUnavailable("initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin"
                                " (install the Debian package `postgresql`)")
        run_as = None
        if os.geteuid() == 0:
            run_as = "nobody"  # PostgreSQL will not run as root
        root = Path(tempfile.mkdtemp(prefix="recovery-bot-pg-"))
        server = cls(bindir, root, _free_port(), run_as)
        try:
            server._init_and_start()
        except BaseException:
            server.stop()
            raise
        return server

    def _init_and_start(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.run_as:
            shutil.chown(self.root, self.run_as)
            shutil.chown(pwfile, self.run_as)
        res = self._run("initdb", "-D", str(self.datadir), "-U", USER, "--pwfile", str(pwfile),
                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                        "--no-sync", "--no-instructions")
        if res.returncode:
            raise PgUnavailable(f"initdb failed: {res.stderr.strip()[-500:]}")
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                f"-c unix_socket_directories={self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        res = self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.root / "log"),
                        "-o", opts, "-w", "-t", "60", "start")
        if res.returncode:
            log = (self.root / "log").read_text(errors="replace")[-800:] \
                if (self.root / "log").exists() else ""
            raise PgUnavailable(f"pg_ctl start failed: {res.stderr.strip()[-300:]} {log}")

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        res = self._run("psql", "-h", str(self.root), "-p", str(self.port), "-U", USER,
                        "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc",
                        f'CREATE DATABASE "{name}"')
        if res.returncode:
            raise PgUnavailable(f"CREATE DATABASE failed: {res.stderr.strip()[-300:]}")
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            if self.datadir.exists():
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop",
                          timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)
