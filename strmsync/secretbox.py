"""Secrets at rest: sealed with a key file of the data directory, private files 0600.

Source credentials, media-server API keys (and the Trakt tokens to come) are stored sealed
with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a key kept in
`DATA/secret.key`. Fail closed: a value that cannot be opened (the key file lost or
replaced) is never dropped and never replaced by a plaintext; whoever reads it is told to
enter the secret again.
"""

import contextlib
import os
import stat
from pathlib import Path

from strmsync.errors import ConfigError

KEY_FILE = "secret.key"
SEALED = "sealed:v1:"
# The data directory's private files: the record (with SQLite's WAL and shared memory),
# the panel's secrets, the key itself.
PRIVATE_FILES = ("strmsync.db", "strmsync.db-wal", "strmsync.db-shm", "panel-secret",
                 "panel-password", KEY_FILE)
REENTER = "cannot be read with this data directory's key file ({why}): enter the secret again"


class SecretUnreadable(Exception):
    """A sealed value this key cannot open; the message says what to do."""


def private_dir(path: Path) -> Path:
    """Create `path` (0700) if missing, and take group and other access away if it exists."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(path, 0o700)
    return path


def tighten_private_files(data_dir: Path) -> None:
    """Make the data directory 0700 and each of its private files 0600 (older installs)."""
    private_dir(data_dir)
    for name in PRIVATE_FILES:
        _tighten(data_dir / name, 0o600)


def private_file(path: Path) -> None:
    """Create an empty file readable by its owner only, if it does not exist yet."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    _tighten(path, 0o600)


def _tighten(path: Path, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        current = stat.S_IMODE(path.stat().st_mode)
        if current & ~mode:
            path.chmod(current & mode)


class SecretBox:
    """Seals and opens secret strings with the data directory's key (made on first use)."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / KEY_FILE
        self._fernet = None

    # `cryptography` is imported when a secret is first sealed or opened: a local one-shot
    # sync, which has none, does not pay for loading it.
    def seal(self, text: str) -> str:
        """`text` sealed for storage; ConfigError when no key can be had (nothing stored)."""
        return SEALED + self._key().encrypt(text.encode()).decode()

    def open(self, stored: str) -> str:
        """The text of a sealed value (a legacy plaintext comes back as it is)."""
        if not is_sealed(stored):
            return stored
        try:
            fernet = self._key()
        except ConfigError as exc:
            raise SecretUnreadable(REENTER.format(why=exc)) from None
        from cryptography.fernet import InvalidToken

        try:
            return fernet.decrypt(stored[len(SEALED):].encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(REENTER.format(
                why="it was sealed with another key")) from None

    def _key(self):
        from cryptography.fernet import Fernet

        if self._fernet is None:
            self._fernet = Fernet(self._read_or_make())
        return self._fernet

    def _read_or_make(self) -> bytes:
        from cryptography.fernet import Fernet

        try:
            if not self.path.exists():
                self._make()
            key = self.path.read_bytes().strip()
            Fernet(key)  # a damaged key file is an error, not a new key
            return key
        except (OSError, ValueError) as exc:
            raise ConfigError(f"secrets: the key file {self.path} cannot be used ({exc});"
                              " nothing secret can be stored") from None

    def _make(self) -> None:
        # Written under a temporary name and linked into place, so two processes starting at
        # once end up with one key (the loser of the race reads the winner's).
        private_dir(self.path.parent)
        temp = self.path.with_name(f".{KEY_FILE}.{os.getpid()}")
        from cryptography.fernet import Fernet

        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(Fernet.generate_key())
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temp, self.path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()


def is_sealed(stored) -> bool:
    """True when a stored value is sealed (not a legacy plaintext)."""
    return isinstance(stored, str) and stored.startswith(SEALED)
