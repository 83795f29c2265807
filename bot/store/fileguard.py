"""The database file on disk: created private (0600), and watched for deletion.

SQLite keeps writing to a file deleted (or replaced) while it is open, so every later
change would be confirmed and then lost at restart. `FileGuard.problem()` notices that
with one stat() call: the path is gone, or now names another file.

The bot does not recreate the file by itself: a file replaced on purpose (a restored
backup) must not be overwritten, and a vanished one needs an operator's look. It keeps
serving from memory, logs the problem once, and says so in its answers.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)


def create_private(path: Path) -> None:
    """Create an empty database file readable only by its owner, if there is none yet
    (SQLite gives its -wal and -shm files the same mode). Warn about a shared one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = os.stat(path).st_mode
        if stat.S_ISREG(mode) and mode & 0o077:
            log.warning("%s: other users may read the database (mode %o). Fix: chmod 600 %s",
                        path, stat.S_IMODE(mode), path)
        return
    except OSError:
        return  # opening the database reports this with its own explanation and fix
    os.close(fd)


class FileGuard:
    """Remembers which file the database was opened as and notices when that changes."""

    def __init__(self, path: Path):
        self.path = path
        st = os.stat(path)
        self._identity = (st.st_dev, st.st_ino)
        self._reported = False

    def problem(self) -> str | None:
        """What happened to the file (logged once), or None while it is still in place."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            what = "was deleted"
        except OSError:
            return None  # cannot tell; the next write will report a real error
        else:
            if (st.st_dev, st.st_ino) == self._identity:
                return None
            what = "was replaced by another file"
        message = (f"{self.path}: the database file {what} while the bot was running; "
                   "changes are kept in memory only and will be lost at restart. Fix: "
                   "restore the file (or remove it to start empty) and restart the bot")
        if not self._reported:
            log.error("%s", message)
            self._reported = True
        return message
