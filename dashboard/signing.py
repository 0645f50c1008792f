"""Who may vouch that a cached table was checked: a secret key of this user's, kept outside the cache.

The Parquet cache (`dataset.py`) lives in a folder that may be shared, synced or writable by
others, so its content is untrusted: without more, a reopened table must be checked again
(`dataset._check_parquet`), about 4 s at 10M rows. With a key only this user can read, the
loader signs a sidecar (HMAC-SHA256) once it has checked the table in full; a sidecar whose
signature verifies was written by this user's loader after that check, so reopening its table
needs only the Parquet file's SHA-256 (that the bytes are the ones signed for).

What is trusted, and why:
- the key file, only when it is a regular file (not a link), owned by this user, readable and
  writable by nobody else (mode 0600 or stricter), exactly KEY_BYTES long, and not inside the
  cache folder it would vouch for (a key beside the cache protects nothing);
- anything else (no key, a key that fails those tests, a home folder that cannot be written)
  is no key: every reopen checks the table in full, as before. Nothing is refused for it.
Anyone who can read the key can forge a signature; anyone who can do that as this user could
equally change the program, so the key adds no new trust beyond the user's own account.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import stat
import tempfile
from pathlib import Path

#: Names the key file; else $XDG_CONFIG_HOME/summit-atlas/cache.key, else ~/.config/...
ENV_KEY = "SUMMIT_ATLAS_CACHE_KEY"
KEY_BYTES = 32
#: What is signed starts with this, so a signature of ours means nothing in another context.
_DOMAIN = b"summit-atlas cache sidecar v1\n"
_HEX = re.compile(r"[0-9a-f]{64}")


def default_key_path() -> Path:
    if os.environ.get(ENV_KEY):
        return Path(os.environ[ENV_KEY])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "summit-atlas" / "cache.key"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def _read(path: Path) -> tuple[bytes | None, str]:
    """The key's bytes when the file passes every test in the module docstring, else None and
    why not ("" when there is no file at all)."""
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer (a hung app).
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, "it is a link" if path.is_symlink() else f"it cannot be read ({exc.strerror})"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "it is not a regular file"
        if st.st_size != KEY_BYTES:
            return None, f"it holds {st.st_size} bytes, not {KEY_BYTES}"
        if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
            return None, "it belongs to another user"
        if hasattr(os, "geteuid") and st.st_mode & 0o077:
            return None, f"others may read or change it (mode {stat.S_IMODE(st.st_mode):04o}; make it 0600)"
        data = os.read(fd, KEY_BYTES + 1)
    except OSError as exc:
        return None, f"it cannot be read ({exc.strerror})"
    finally:
        os.close(fd)
    return (data, "") if len(data) == KEY_BYTES else (None, "it changed while it was read")


def _create(path: Path) -> None:
    """A new random key, written whole under a temporary name and linked into place: a loader
    racing this one finds no key or the whole key, never an empty file (which a crash mid-write
    would also leave for good); link() never replaces a key another process made first."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
        try:
            try:
                os.write(fd, os.urandom(KEY_BYTES))
                os.fsync(fd)
            finally:
                os.close(fd)
            with contextlib.suppress(FileExistsError):  # another process made it first: use that
                os.link(temp, path)
        finally:
            os.unlink(temp)


def cache_key(cache_folder: Path, *, create: bool = False, path: Path | None = None) -> bytes | None:
    """This user's key for signing `cache_folder`'s sidecars, or None (see the module docstring).

    `create` makes one when there is none yet (the loader does, when it has a table to sign)."""
    path = Path(path) if path is not None else default_key_path()
    if _inside(path, Path(cache_folder)):
        return None
    key, _why = _read(path)
    if key is None and create and not path.exists() and not path.is_symlink():
        _create(path)
        key, _why = _read(path)
    return key


def key_problem(cache_folder: Path, *, path: Path | None = None) -> str:
    """Why a key file that is there is not used, in words ("" when it is used, or there is none
    yet): without it every reopen of a large table is checked in full, and the user should know."""
    path = Path(path) if path is not None else default_key_path()
    if _inside(path, Path(cache_folder)):
        return f"the cache key {path} lies inside the cache folder it would vouch for"
    if not path.exists() and not path.is_symlink():
        return ""
    _key, why = _read(path)
    return f"the cache key {path} is not used: {why}" if why else ""


def _message(body: dict) -> bytes:
    return _DOMAIN + json.dumps(body, sort_keys=True, allow_nan=False).encode("utf-8")


def sign(key: bytes, body: dict) -> str:
    """The signature of a sidecar's content (`body`: everything the sidecar holds but its
    signature and its own digest)."""
    return hmac.new(key, _message(body), hashlib.sha256).hexdigest()


def verifies(key: bytes | None, body: dict, signature: object) -> bool:
    """Whether `signature` is `body`'s under `key` (compared in constant time)."""
    # compare_digest raises on non-ASCII text: anything but a hex digest simply does not verify.
    if key is None or not isinstance(signature, str) or not _HEX.fullmatch(signature):
        return False
    return hmac.compare_digest(sign(key, body), signature)
