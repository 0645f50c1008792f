"""The cache's signing key: which key files are trusted, and what a signature covers."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from dashboard import signing


@pytest.fixture
def key_path(tmp_path):
    return tmp_path / "config" / "summit-atlas" / "cache.key"


def test_a_missing_key_is_made_private_and_read_back(key_path, tmp_path):
    assert signing.cache_key(tmp_path / "cache", path=key_path) is None  # not made unless asked
    key = signing.cache_key(tmp_path / "cache", create=True, path=key_path)
    assert key is not None and len(key) == signing.KEY_BYTES
    assert key_path.stat().st_mode & 0o777 == 0o600
    assert key_path.parent.stat().st_mode & 0o077 == 0
    assert signing.cache_key(tmp_path / "cache", create=True, path=key_path) == key  # kept


def _other_owner(path):
    os.chown(path, os.geteuid() + 4242, -1)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda p: p.chmod(0o644), id="readable by others"),
        pytest.param(lambda p: p.chmod(0o620), id="writable by the group"),
        pytest.param(lambda p: p.write_bytes(b"x" * 31) or p.chmod(0o600), id="too short"),
        pytest.param(lambda p: p.write_bytes(b"x" * 33) or p.chmod(0o600), id="too long"),
        pytest.param(_other_owner, id="owned by another user"),
    ],
)
def test_a_key_file_anyone_else_could_know_or_change_is_no_key(key_path, tmp_path, spoil):
    if spoil is _other_owner and os.geteuid() != 0:
        pytest.skip("giving a file away takes root")
    signing.cache_key(tmp_path / "cache", create=True, path=key_path)
    spoil(key_path)
    assert signing.cache_key(tmp_path / "cache", create=True, path=key_path) is None
    assert key_path.exists()  # never replaced behind the user's back


def test_a_link_is_no_key_and_is_not_followed_to_create_one(key_path, tmp_path):
    key_path.parent.mkdir(parents=True)
    target = tmp_path / "elsewhere.key"
    key_path.symlink_to(target)
    assert signing.cache_key(tmp_path / "cache", create=True, path=key_path) is None
    assert not target.exists()
    target.write_bytes(b"k" * signing.KEY_BYTES)
    target.chmod(0o600)
    assert signing.cache_key(tmp_path / "cache", create=True, path=key_path) is None


@pytest.mark.parametrize("where", ["cache.key", "sub/cache.key"])
def test_a_key_inside_the_cache_folder_it_would_vouch_for_is_no_key(tmp_path, where):
    folder = tmp_path / "cache"
    assert signing.cache_key(folder, create=True, path=folder / where) is None
    assert not (folder / where).exists()


def test_the_key_file_is_named_by_the_environment_else_the_config_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(signing.ENV_KEY, str(tmp_path / "k"))
    assert signing.default_key_path() == tmp_path / "k"
    monkeypatch.delenv(signing.ENV_KEY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert signing.default_key_path() == tmp_path / "xdg" / "summit-atlas" / "cache.key"


BODY = {"parquet_sha256": "a" * 64, "rows": 3, "problems": []}


@pytest.mark.parametrize(
    ("key", "body", "signature", "ok"),
    [
        (b"k" * 32, BODY, signing.sign(b"k" * 32, BODY), True),
        (b"j" * 32, BODY, signing.sign(b"k" * 32, BODY), False),  # another user's key
        (b"k" * 32, {**BODY, "rows": 4}, signing.sign(b"k" * 32, BODY), False),  # an edited sidecar
        (None, BODY, signing.sign(b"k" * 32, BODY), False),  # no key: nothing verifies
        (b"k" * 32, BODY, "", False),
        (b"k" * 32, BODY, 12, False),
        (b"k" * 32, BODY, signing.sign(b"k" * 32, BODY).upper(), False),
    ],
)
def test_a_signature_verifies_only_under_its_key_for_its_content(key, body, signature, ok):
    assert signing.verifies(key, body, signature) is ok


def _blocks(call, seconds: float = 5.0) -> bool:
    """Whether `call` is still running after `seconds` (it is left to finish on its own thread)."""
    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(seconds)
    return worker.is_alive()


def test_a_fifo_named_as_the_key_is_no_key_and_never_blocks(tmp_path):
    """Opening a FIFO for reading waits for a writer: the app would hang on its first load."""
    fifo = tmp_path / "cache.key"
    os.mkfifo(fifo, 0o600)
    found: list = []
    try:
        assert not _blocks(lambda: found.append(signing.cache_key(tmp_path / "c", create=True, path=fifo)))
    finally:
        with contextlib.suppress(OSError):  # let a blocked open through, so the thread ends
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert found == [None]


@pytest.mark.parametrize("path", ["/dev/null", "/dev/zero", "."], ids=["null", "zero", "a folder"])
def test_a_device_or_folder_named_as_the_key_is_no_key(tmp_path, path):
    assert signing.cache_key(tmp_path / "cache", create=True, path=Path(path)) is None


@pytest.mark.parametrize(
    "signature",
    ["é" * 64, "\ud800" * 64, "g" * 64, "a" * 1_000_000],
    ids=["non-ASCII", "surrogates", "not hex", "huge"],
)
def test_a_signature_that_is_not_a_digest_never_verifies_and_never_raises(signature):
    """hmac.compare_digest raises TypeError on non-ASCII text: such a sidecar must read as
    unsigned (checked in full, then signed), not fail the reopen."""
    assert signing.verifies(b"k" * 32, BODY, signature) is False


def test_a_key_being_made_by_another_process_is_never_seen_half_written(key_path, tmp_path, monkeypatch):
    """Two loaders making the key at once: the one that finds it mid-write (empty) must not
    conclude there is no key, nor may a crash there leave an empty key file for good."""
    seen: list = []
    urandom, asked = os.urandom, []

    def racing(n: int) -> bytes:  # the other process asks while this one writes
        if n == signing.KEY_BYTES and not asked:
            asked.append(n)
            seen.append(signing.cache_key(tmp_path / "cache", create=True, path=key_path))
        return urandom(n)

    monkeypatch.setattr(signing.os, "urandom", racing)
    mine = signing.cache_key(tmp_path / "cache", create=True, path=key_path)
    assert mine is not None and seen == [mine]
    assert [p.name for p in key_path.parent.iterdir()] == ["cache.key"]  # no temporary left


def _make_key(path: str, queue) -> None:
    queue.put(signing.cache_key(Path(path).parent.parent / "cache", create=True, path=Path(path)))


def test_processes_racing_to_make_the_key_all_get_the_same_one(key_path):
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_make_key, args=(str(key_path), queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    keys = [queue.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(30)
    assert keys[0] is not None and keys == [keys[0]] * len(keys)
    assert signing.cache_key(key_path.parent.parent / "cache", path=key_path) == keys[0]


@pytest.mark.parametrize(
    "where",
    [
        pytest.param(
            lambda t: (t / "cache", t / "elsewhere" / ".." / "cache" / "cache.key"), id="through .."
        ),
        pytest.param(lambda t: (t / "cache", Path("cache/cache.key")), id="relative"),
        pytest.param(lambda t: (t / "link", t / "keys" / "cache.key"), id="cache folder links to the key's"),
        pytest.param(lambda t: (t / "cache", t / "cfg" / "cache.key"), id="key folder links into the cache"),
    ],
)
def test_a_key_reached_inside_the_cache_folder_by_any_path_is_no_key(tmp_path, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cache").mkdir()
    (tmp_path / "keys").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "keys")
    (tmp_path / "cfg").symlink_to(tmp_path / "cache")
    folder, path = where(tmp_path)
    assert signing.cache_key(folder, create=True, path=path) is None
    assert not (tmp_path / "cache" / "cache.key").exists() and not (tmp_path / "keys" / "cache.key").exists()


@pytest.mark.parametrize(
    ("spoil", "why"),
    [
        (lambda p: p.chmod(0o644), "others may read or change it (mode 0644; make it 0600)"),
        (lambda p: p.write_bytes(b"k" * 5), "it holds 5 bytes, not 32"),
        (lambda p: (p.unlink(), p.mkdir()), "it is not a regular file"),
        (lambda p: (p.unlink(), p.symlink_to(p.with_name("elsewhere"))), "it is a link"),
    ],
    ids=["readable by others", "too short", "a folder", "a link"],
)
def test_a_key_that_is_there_but_not_used_is_named_with_the_reason(key_path, tmp_path, spoil, why):
    cache = tmp_path / "cache"
    assert signing.key_problem(cache, path=key_path) == ""  # none yet: one will be made
    signing.cache_key(cache, create=True, path=key_path)
    assert signing.key_problem(cache, path=key_path) == ""
    spoil(key_path)
    assert signing.key_problem(cache, path=key_path) == f"the cache key {key_path} is not used: {why}"


def test_the_app_says_when_its_cache_key_is_not_used(tmp_path, monkeypatch):
    """A key others can read vouches for nothing: the dataset's notices say so (and why every
    reopen of a large table then takes the full check)."""
    from dashboard import dataset as ds
    from dashboard.data import load_sources
    from tests.conftest import row, table_bytes, tiny_reference

    key = tmp_path / "key" / "cache.key"
    monkeypatch.setenv(signing.ENV_KEY, str(key))
    monkeypatch.setattr(ds, "CACHE_MIN_BYTES", 0)
    table = tmp_path / "events.csv"
    table.write_bytes(table_bytes([row(event_id=f"e-{i}") for i in range(3)]))
    sources, problems = load_sources()
    first = ds.build_dataset(table, tiny_reference(), sources, problems, cache_dir=tmp_path / "c")
    assert first.notices == ()
    key.chmod(0o640)
    again = ds.build_dataset(table, tiny_reference(), sources, problems, cache_dir=tmp_path / "c")
    assert again.from_cache
    assert again.notices == (
        f"the cache key {key} is not used: others may read or change it (mode 0640; make it 0600); "
        "so every reopen of a large table is checked in full",
    )
