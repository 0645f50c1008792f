"""Everything one view of the dashboard needs, loaded and joined once: the seam caches wrap.

`load_dataset` reads the reference geodata, the sources and an events table, validates the
table, and does the spatial join. The UI caches its result; the CLI calls it directly, so the
command-line export and the download button run the same code on the same frame.

A large table is checked once and kept as Parquet in a cache folder, batch by batch: each batch
the checker passes (`data.load_events` with a sink) is enriched and appended to the file, so the
build's memory does not grow with the row count; the returned Dataset names the file
(`Dataset.parquet`) and reads its rows into memory only when `events` is asked for. The cache is
untrusted: it is keyed on the table's content (SHA-256 of its bytes, streamed; remembered by the
file's device, inode, size, mtime and ctime, which no user can restore after a write, so an
unchanged table is not read again: `_content_digest` says exactly what is trusted) with the
reference data, the sources and CACHE_VERSION; its sidecar records the Parquet file's SHA-256,
row count and columns, and its own SHA-256; a read checks all of that, the column types, and the
cheap invariants of a validated table (`_check_frame`; from LAZY_MIN_ROWS rows, the same
invariants asked of DuckDB over the file, `_check_parquet`, while the file's SHA-256 is worked
out beside it; nothing is served unless both pass). Anything unreadable or inconsistent
is a miss: the table is checked again from the CSV and `Dataset.notices` says why. Files are
written under unique temporary names and renamed into place, the sidecar last, so a crash never
pairs a new Parquet file with an old sidecar that vouches for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dashboard import schema
from dashboard.data import (
    DEFAULT_EVENTS,
    DEFAULT_SOURCES,
    DUCKDB_MEMORY,
    LOOPED_COLUMNS,
    LoadResult,
    Problem,
    Sink,
    column_name_problem,
    load_events,
    load_sources,
)
from dashboard.filters import Vocabulary
from dashboard.geo import GEODATA_DIR, Reference, enrich, load_reference, views_order
from dashboard.lists import split_list
from dashboard.schema import EVENT_COLUMNS
from dashboard.signing import cache_key, key_problem, sign, verifies
from dashboard.timespan import year_counts

ENV_EVENTS = "SUMMIT_ATLAS_EVENTS"
ENV_CACHE = "SUMMIT_ATLAS_CACHE"
ENV_GEODATA = "SUMMIT_ATLAS_GEODATA"
#: Tables from this size up are cached as Parquet after their first validation; smaller ones
#: validate faster than Parquet reads them back.
CACHE_MIN_BYTES = 2_000_000
#: Bump when validation or enrichment changes what a cached frame would hold.
CACHE_VERSION = "6"
#: Temporary files a crashed write left in the cache folder are removed after this long.
STALE_TMP_SECONDS = 3600
_CHUNK = 1 << 20  # bytes hashed at a time: a 200 MB table is never held twice for its digest

#: Cached tables from this many rows up are verified where they lie and read into memory only
#: when a view asks (`_open_cache`); smaller ones are read and checked at once.
LAZY_MIN_ROWS = 200_000

#: Reports loading progress: a fraction between 0 and 1, and what is happening.
Progress = Callable[[float, str], None]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated, enriched events table with the reference data it was checked against.

    A large table lives in its checked Parquet file (`parquet`) and is read into memory only
    when `events` is first asked for; a query engine can read `parquet` directly instead (its
    rows in the views' order, its counts and problems in `result`).
    """

    reference: Reference
    sources: pd.DataFrame
    source_problems: tuple[Problem, ...]
    result: LoadResult
    loaded: pd.DataFrame | None  # the enriched frame, when it is held in memory
    label: str
    from_cache: bool = False
    #: What happened to the cache on the way (a cache found broken and rebuilt); not data problems.
    notices: tuple[str, ...] = ()
    #: The checked, enriched table as Parquet (verified when opened), for a cached table. Its
    #: rows are in the CSV's order: the engine orders what it lists (`geo.VIEWS_ORDER_SQL`) when
    #: that is not already the views' order (sorting 10M wide rows once costs more than pages do).
    parquet: Path | None = None
    _load: Callable[[], pd.DataFrame] | None = field(default=None, repr=False)
    #: The Parquet file held open since its check (`_Pinned`): `parquet` reads through it.
    _pin: object = field(default=None, repr=False)
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def events(self) -> pd.DataFrame:
        """The enriched frame every view filters (read from `parquet` on first use)."""
        if self.loaded is not None:
            return self.loaded
        return self._load()

    def vocabulary(self) -> Vocabulary:
        """The values filters may take; worked out once per dataset (every rerun asks)."""
        if "vocabulary" not in self._memo:
            self._memo["vocabulary"] = self._vocabulary()
        return self._memo["vocabulary"]

    def codes_in_use(self, column: str) -> tuple[str, ...]:
        """The distinct codes a `;`-separated column holds, sorted; worked out once per dataset."""
        key = ("codes", column)
        if key not in self._memo:
            cells = self.engine().distinct(column)  # few distinct cells, even in 10M rows
            self._memo[key] = tuple(sorted({code for cell in cells for code in split_list(str(cell))}))
        return self._memo[key]

    def engine(self):
        """The query engine over this table (`dashboard.engine`): over the Parquet file of a
        large table, so the vocabulary never needs its rows in memory."""
        from dashboard.engine import for_dataset

        return for_dataset(self)

    def _vocabulary(self) -> Vocabulary:
        from dashboard.engine import Selection

        engine = self.engine()
        years = engine.table(
            "SELECT min(y) AS low, max(y) AS high FROM "
            "(SELECT year_start AS y FROM events UNION ALL SELECT year_end FROM events)"
        ).to_pylist()[0]
        low, high = years["low"], years["high"]
        return Vocabulary(
            organisations=self.reference.org_codes,
            countries=self.reference.iso3_codes,
            articles=frozenset(int(a) for a in self.sources["article"]),
            event_ids=_EventIds(engine),
            member_orgs=frozenset(self.reference.orgs_with_members),
            year_min=int(low) if low is not None else 1900,
            year_max=int(high) if high is not None else 2100,
            year_counts=year_counts(Selection(engine)),
            orgs_in_use=self.codes_in_use("organisations"),
            countries_in_use=tuple(
                sorted(set(self.codes_in_use("participants")) | set(self.codes_in_use("country_iso3")))
            ),
            org_names=self.reference.org_names,
            country_names=self.reference.country_names,
            article_titles=dict(zip(self.sources["article"], self.sources["title"], strict=True)),
        )


class _EventIds:
    """`event_id in ids`, asked of the engine with the id as a bound value: ten million ids are
    never held as Python strings."""

    def __init__(self, engine) -> None:
        self._engine = engine

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and self._engine.count("event_id = ?", [value]) > 0


def events_path(cli_path: str | os.PathLike | None = None) -> Path:
    """Which events table to use: the command line, then the environment, then the default."""
    if cli_path:
        return Path(cli_path)
    if os.environ.get(ENV_EVENTS):
        return Path(os.environ[ENV_EVENTS])
    return DEFAULT_EVENTS


def sources_path(events: Path, sources: Path | str | None = None) -> Path:
    """The sources table for an events table: the one given; else a `sources.csv` in the same
    folder as a table that is not the shipped one (an import writes one there); else ours."""
    if sources:
        return Path(sources)
    sibling = Path(events).parent / "sources.csv"
    if Path(events).resolve() != DEFAULT_EVENTS.resolve() and sibling.is_file():
        return sibling
    return DEFAULT_SOURCES


def geodata_path(cli_path: str | os.PathLike | None = None) -> Path:
    """Which reference folder to use: the command line, then $SUMMIT_ATLAS_GEODATA, then geodata/."""
    if cli_path:
        return Path(cli_path)
    if os.environ.get(ENV_GEODATA):
        return Path(os.environ[ENV_GEODATA])
    return GEODATA_DIR


def load_reference_and_sources(
    geodata: Path | str = GEODATA_DIR, sources: Path | str = DEFAULT_SOURCES
) -> tuple[Reference, pd.DataFrame, tuple[Problem, ...]]:
    """The reference data (raises `ReferenceDataError` if unusable) and the sources table."""
    reference = load_reference(geodata)
    frame, problems = load_sources(sources)
    return reference, frame, problems


def build_dataset(
    events_source: Path | str | bytes,
    reference: Reference,
    sources: pd.DataFrame,
    source_problems: tuple[Problem, ...] = (),
    *,
    name: str | None = None,
    cache_dir: Path | str | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """Validate and enrich an events table; a large file is cached as Parquet once checked.

    The cache key is the SHA-256 of the file's bytes with the reference data, the sources and
    CACHE_VERSION: change any of them and the table is checked again. A cache that fails any
    check on read is rebuilt, and the returned Dataset's `notices` say why.
    """
    report = progress or (lambda fraction, text: None)
    label = name or (Path(events_source).name if not isinstance(events_source, bytes) else "upload")
    articles = frozenset(int(a) for a in sources["article"])
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    notices: list[str] = []
    if not isinstance(events_source, bytes) and _cacheable(events_source):
        path = Path(events_source)
        try:
            digest = _content_digest(
                path, folder, lambda done, total: report(0.05 * done / total, f"Fingerprinting {label}…")
            )
        except OSError:
            digest = None  # unreadable: load_events reports it as a problem
        if digest is not None:
            entry = _CacheEntry.make(digest, label, reference, sources, folder)
            unused = key_problem(folder)
            if unused:
                notices.append(f"{unused}; so every reopen of a large table is checked in full")
            report(0.05, f"Opening the checked copy of {label}…")
            opened, why = _open_cache(entry, reference, articles, report)
            if opened is not None:
                report(1.0, f"{label}: {opened.result.rows_loaded:,} events ready")
                return Dataset(
                    reference,
                    sources,
                    source_problems,
                    opened.result,
                    opened.frame,
                    label,
                    from_cache=True,
                    notices=tuple(notices),
                    parquet=opened.pin.path if opened.pin else entry.parquet,
                    _load=opened.load,
                    _pin=opened.pin,
                )
            if why:
                notices.append(
                    f"cache {entry.parquet.name} was unreadable or inconsistent ({why}); rebuilt from the CSV"
                )
            built, failure = _check_into_cache(path, entry, reference, articles, label, report)
            if built is not None:
                notices.extend(built.notices)
                report(1.0, f"{label}: {built.result.rows_loaded:,} events ready")
                return Dataset(
                    reference,
                    sources,
                    source_problems,
                    built.result,
                    None,
                    label,
                    notices=tuple(notices),
                    parquet=built.pin.path,
                    _load=built.load,
                    _pin=built.pin,
                )
            if failure:
                again = "the table is checked again next time"
                notices.append(f"cache {entry.parquet.name} not written ({failure}); {again}")
    report(0.1, f"Reading and checking {label}…")
    result = load_events(
        events_source, reference, articles, name=label, progress=_rows_report(report, 0.1, 0.7)
    )
    report(0.7, f"Placing {result.rows_loaded:,} events in their countries…")
    enriched = enrich(result.frame, reference)
    enriched.attrs["extra_columns"] = result.extra_columns
    report(1.0, f"{label}: {result.rows_loaded:,} events ready")
    return Dataset(reference, sources, source_problems, result, enriched, label, notices=tuple(notices))


def _rows_report(report: Progress, low: float, high: float):
    """Batch progress (rows checked, bytes read of all) as a fraction between low and high."""

    def rows(checked: int, done: int, total: int) -> None:
        share = done / total if total else 0.0
        report(low + (high - low) * min(share, 1.0), f"Checked {checked:,} rows…")

    return rows


def default_cache_dir() -> Path:
    """Where checked tables are cached: $SUMMIT_ATLAS_CACHE, else the user's cache folder."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "summit-atlas"


# ----- the Parquet cache --------------------------------------------------------------------------


class _CacheMiss(Exception):
    """A cache entry that must not be served; the message says why."""


@dataclass(frozen=True)
class _CacheEntry:
    """Where one checked table is cached, and the key its sidecar must repeat."""

    parquet: Path
    sidecar: Path
    key: dict

    @classmethod
    def make(cls, content_sha256: str, label: str, reference: Reference, sources: pd.DataFrame, folder):
        key = {
            "version": CACHE_VERSION,
            "content_sha256": content_sha256,
            "name": label,  # problems name the file: the same bytes under another name differ
            "reference": reference.fingerprint(),
            "sources": hashlib.sha256(sources.astype(str).to_csv(index=False).encode()).hexdigest(),
        }
        digest = hashlib.sha256(_json_bytes(key)).hexdigest()[:32]
        stem = f"{Path(label).stem[:40]}-{digest}"
        return cls(Path(folder) / f"{stem}.parquet", Path(folder) / f"{stem}.json", key)


def _cacheable(source: Path | str) -> bool:
    try:
        return Path(source).stat().st_size >= CACHE_MIN_BYTES
    except OSError:
        return False


def _sha256_file(path: Path | str, progress: Callable[[int, int], None] | None = None) -> str:
    """SHA-256 of a file's bytes, read in chunks (about 0.25 s for 200 MB here)."""
    digest = hashlib.sha256()
    total = os.stat(path).st_size
    done = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress and done % (64 * _CHUNK) < _CHUNK:
                progress(done, total)
    return digest.hexdigest()


#: A digest is remembered only for a file whose last change (ctime) is at least this much older
#: than the start of the hashing: a later write then falls in a later clock tick and changes the
#: ctime, even on a file system that keeps times to the second (or two).
DIGEST_SETTLE_NS = 3_000_000_000


def _file_identity(path: Path) -> list[int]:
    """What the kernel changes whenever a file's content can have changed: the file itself
    (device, inode), its size, mtime and ctime. The ctime is set by the kernel to its clock on
    every write, rename or `utime`; no user call sets it back (only moving the system clock,
    which takes root), so an unchanged identity means unchanged content."""
    st = path.stat()
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _digest_memo_path(path: Path, folder: Path) -> Path:
    name = hashlib.sha256(str(path.resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return folder / f"{path.stem[:40]}-{name}.digest.json"


def _content_digest(path: Path, folder: Path, progress: Callable[[int, int], None] | None = None) -> str:
    """SHA-256 of a table's bytes, the cache's key; remembered beside the cache by the file's
    identity (`_file_identity`), so reopening an unchanged 2 GB table does not read it again.

    What is trusted, and why: the memo (`*.digest.json` in the cache folder) is untrusted like
    the rest of the cache; it is used only when it is well formed, its own SHA-256 matches, it
    names this path, and the file's identity now is exactly the one it recorded. A write to the
    file since changes its ctime (and a replaced file has another inode or ctime), so the
    recorded digest is still the content's. It is recorded only when the identity was the same
    before and after the hashing and the last change was DIGEST_SETTLE_NS before the hashing
    began (so a write in the same clock tick cannot go unseen). Anyone able to write the cache
    folder could already plant a consistent Parquet file and sidecar; the memo adds no new trust.
    """
    memo = _digest_memo_path(path, folder)
    identity = _file_identity(path)
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        meta = json.loads(_read_file(memo).decode("utf-8"))
        body = {k: meta[k] for k in ("path", "identity", "sha256")}
        if (
            meta["memo_sha256"] == hashlib.sha256(_json_bytes(body)).hexdigest()
            and body["path"] == str(path.resolve())
            and body["identity"] == identity
            and isinstance(body["sha256"], str)
            and _SHA256_RE.match(body["sha256"])
        ):
            return body["sha256"]
    began = time.time_ns()
    digest = _sha256_file(path, progress)
    if _file_identity(path) == identity and identity[4] <= began - DIGEST_SETTLE_NS:
        body = {"path": str(path.resolve()), "identity": identity, "sha256": digest}
        record = {**body, "memo_sha256": hashlib.sha256(_json_bytes(body)).hexdigest()}
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            created: list[Path] = []
            try:
                temp = _temporary(folder, memo.name, created)
                temp.write_bytes(_json_bytes(record))
                os.replace(temp, memo)
            finally:
                for leftover in created:
                    with contextlib.suppress(OSError):
                        leftover.unlink(missing_ok=True)
    return digest


class _NotAFile(OSError):
    """A cache name that holds no regular file (a FIFO, a device, a folder)."""


#: O_NONBLOCK: opening a FIFO for reading would wait for a writer; on a regular file it does nothing.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)


def _read_file(path: Path) -> bytes:
    """A cache file's bytes, only when it is a regular file: a FIFO would block the open and a
    device such as /dev/zero never end (anyone able to write the cache folder can put either)."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _NotAFile(f"{Path(path).name} is not a regular file")
        with open(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


def _json_bytes(value) -> bytes:
    """JSON of the cache's own metadata: NaN and infinities are refused, never written."""
    return json.dumps(value, sort_keys=True, allow_nan=False).encode("utf-8")


_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
#: The sidecar's keys and their types: anything else makes the entry a miss.
_SIDECAR_TYPES = {
    "sidecar_sha256": str,
    "key": dict,
    "parquet_sha256": str,
    "rows": int,
    "rows_read": int,
    "columns": list,
    "extra_columns": list,
    "problems": list,
}
_PROBLEM_TYPES = {"file": str, "line": int, "column": str, "reason": str, "severity": str}


class _Opened(NamedTuple):
    """A checked table served from the cache: in memory (`frame`), or to be read (`load`)."""

    result: LoadResult
    frame: pd.DataFrame | None
    load: Callable[[], pd.DataFrame] | None
    pin: _Pinned | None = None


class _Pinned:
    """A large cache entry's Parquet file, held open from its check to its last read.

    The engine reads the file long after it was verified, by path. The path given out is
    `/proc/self/fd/N` of this open file (Linux), which reaches the very bytes that were checked
    whatever is renamed over the cache's name meanwhile; and the file must be one nobody but this
    user can write (owned by the user, no group or other write bit), so it cannot be changed in
    place either. Elsewhere (no /proc) the name is used and that gap remains. The file is closed
    when the last holder (the Dataset, its engines, its lazy loader) is gone.
    """

    def __init__(self, path: Path) -> None:
        try:
            fd = os.open(path, _OPEN_FLAGS | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise _CacheMiss("its Parquet file is missing") from None
        except OSError as exc:
            raise _CacheMiss(f"its Parquet file cannot be opened ({exc.strerror})") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise _CacheMiss("its Parquet file is not a regular file")
            if hasattr(os, "geteuid") and (st.st_uid != os.geteuid() or st.st_mode & 0o022):
                raise _CacheMiss("its Parquet file can be written by another user")
        except BaseException:
            os.close(fd)
            raise
        self.fd, self.name = fd, Path(path).name
        self._closer = weakref.finalize(self, os.close, fd)
        proc = Path(f"/proc/self/fd/{fd}")
        self.path = proc if proc.exists() else Path(path)


def _open_cache(entry: _CacheEntry, reference: Reference, articles: frozenset[int], report: Progress):
    """The cached table and "", or None and why the entry is not served ("" when there is
    simply no entry).

    A sidecar signed under this user's key (`signing.py`) vouches that its table passed the
    full check: only the Parquet file's SHA-256 is verified then. Otherwise the table is
    checked in full: under LAZY_MIN_ROWS it is read and checked in memory (`_read_verified`);
    a larger one is verified where it lies, its SHA-256 streamed and the invariants of a checked
    table asked of DuckDB (`_check_parquet`), in bounded memory; once that passes, the sidecar
    is signed so the next reopen is quick. A large table's rows are read only when a view asks
    for them, and verified again then.
    """
    if not entry.parquet.exists() and not entry.sidecar.exists():
        return None, ""
    try:
        meta = _check_sidecar(entry)
        extra = tuple(meta["extra_columns"])
        problems = tuple(Problem(**p) for p in meta["problems"])
        key = cache_key(entry.parquet.parent, create=True)
        signed = verifies(key, _signed_part(meta), meta.get("signature"))
        if meta["rows"] < LAZY_MIN_ROWS:
            enriched = _read_verified(entry.parquet, meta, reference, articles, checked=signed)
            result = LoadResult(_schema_frame(enriched, extra), problems, meta["rows_read"], extra)
            opened = _Opened(result, enriched, None)
        else:
            if not entry.parquet.exists():
                raise _CacheMiss("its Parquet file is missing")
            pin = _Pinned(entry.parquet)  # checked and read through this one open file
            _verify_in_place(pin.path, meta, reference, articles, report, checked=signed)
            load = _LazyLoad(pin.path, meta, reference, articles, pin)
            result = LoadResult(
                lambda: _schema_frame(load(), extra), problems, meta["rows_read"], extra, meta["rows"]
            )
            opened = _Opened(result, None, load, pin)
    except _CacheMiss as exc:
        return None, str(exc)
    except Exception as exc:  # an untrusted file: whatever a reader raises on it is a miss
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"
    if key is not None and not signed:
        _sign_in_place(entry, meta, key)
    return opened, ""


def _verify_in_place(
    path: Path, meta: dict, reference: Reference, articles: frozenset[int], report: Progress, *, checked: bool
) -> None:
    """A large entry's Parquet file checked where it lies: its SHA-256 against the sidecar's
    and, unless the sidecar's signature vouches for them (`checked`), its invariants."""
    if checked:  # the signature vouches for the rest: only the bytes, with progress
        digest = _sha256_file(
            path, lambda done, total: report(0.05 + 0.9 * done / total, "Verifying the checked copy's bytes…")
        )
        if digest != meta["parquet_sha256"]:
            raise _CacheMiss("the Parquet file's SHA-256 differs from the one its sidecar records")
        return
    # The file's SHA-256 and its invariants, side by side (hashlib and DuckDB both release
    # the GIL); neither result is used unless both pass. Progress is reported from this thread
    # only: the UI's progress bar cannot be updated from another.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-digest") as pool:
        hashing = pool.submit(_sha256_file, path)
        failure: Exception | None = None
        try:
            _check_parquet(path, meta, reference, articles, report)
        except Exception as exc:  # reported after the digest: a changed file says so first
            failure = exc
        try:
            digest = hashing.result()
        except FileNotFoundError:
            raise _CacheMiss("its Parquet file is missing") from None
        if digest != meta["parquet_sha256"]:
            raise _CacheMiss("the Parquet file's SHA-256 differs from the one its sidecar records")
        if failure is not None:
            raise failure


def _schema_frame(enriched: pd.DataFrame, extra: tuple[str, ...]) -> pd.DataFrame:
    """The loader's view of an enriched table: the schema's columns and the extra ones."""
    frame = enriched[list(EVENT_COLUMNS) + list(extra)].copy()
    frame.attrs["extra_columns"] = extra
    return frame


def _read_verified(
    path: Path, meta: dict, reference: Reference, articles: frozenset[int], *, checked: bool = False
) -> pd.DataFrame:
    """The cached frame, read from bytes whose SHA-256 matched the sidecar's, and checked
    unless its signed sidecar vouches that it was (`checked`)."""
    try:
        blob = _read_file(path)
    except FileNotFoundError:
        raise _CacheMiss("its Parquet file is missing") from None
    except _NotAFile:
        raise _CacheMiss("its Parquet file is not a regular file") from None
    if hashlib.sha256(blob).hexdigest() != meta["parquet_sha256"]:
        raise _CacheMiss("the Parquet file's SHA-256 differs from the one its sidecar records")
    # Read the bytes just verified, not the file again (it could change in between);
    # a BufferReader lets pyarrow read them in place, on all cores.
    enriched = pd.read_parquet(pa.BufferReader(blob))
    del blob
    if not checked:
        _check_frame(enriched, meta, reference, articles)
    # The file holds its batches in the order they were read, each in the views' order.
    order = views_order(enriched)
    if (order != np.arange(len(order))).any():
        enriched = enriched.iloc[order].reset_index(drop=True)
    # Parquet brings text back as pandas' Arrow-backed `str` dtype: same values and string
    # methods as `object` columns, in a fraction of the memory. Only the short code lists the
    # sidebar loops over each rerun are `object` (data.LOOPED_COLUMNS), as the checker hands them.
    for col in LOOPED_COLUMNS:
        enriched[col] = enriched[col].astype(object)
    enriched.attrs["extra_columns"] = tuple(meta["extra_columns"])
    return enriched


class CacheChanged(RuntimeError):
    """A checked table's Parquet file changed between being opened and being read."""


class _LazyLoad:
    """Reads a verified cache entry's rows once, when first asked; verifies them again then."""

    def __init__(
        self, path: Path, meta: dict, reference: Reference, articles: frozenset[int], pin: object = None
    ) -> None:
        self.path, self.meta, self.reference, self.articles = path, meta, reference, articles
        self._pin = pin  # the open file `path` reads through, kept open as long as this loader
        self._frame: pd.DataFrame | None = None

    def __call__(self) -> pd.DataFrame:
        if self._frame is None:
            try:
                self._frame = _read_verified(self.path, self.meta, self.reference, self.articles)
            except _CacheMiss as exc:
                name = getattr(self._pin, "name", self.path.name)
                raise CacheChanged(f"{name} changed after it was opened: {exc}") from None
        return self._frame


def _check_sidecar(entry: _CacheEntry) -> dict:
    """The sidecar's content, once every key is there with its type and the key matches."""
    try:
        meta = json.loads(_read_file(entry.sidecar).decode("utf-8"))
    except FileNotFoundError:
        raise _CacheMiss("its sidecar is missing") from None
    except _NotAFile:
        raise _CacheMiss("its sidecar is not a regular file") from None
    except (OSError, ValueError) as exc:
        raise _CacheMiss(f"its sidecar is not JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise _CacheMiss("its sidecar is not a JSON object")
    for key, kind in _SIDECAR_TYPES.items():
        # bool is an int in Python; a count given as true is as wrong as one given as "3".
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise _CacheMiss(f"its sidecar lacks {key!r} or it is not a {kind.__name__}")
    if _sidecar_digest(meta) != meta["sidecar_sha256"]:
        raise _CacheMiss("its sidecar's content differs from its recorded SHA-256")
    if not isinstance(meta.get("signature", ""), str):
        raise _CacheMiss("its sidecar's signature is not text")
    if meta["key"] != entry.key:
        raise _CacheMiss("its sidecar was written for other content, reference data or version")
    if not _SHA256_RE.match(meta["parquet_sha256"]):
        raise _CacheMiss("its sidecar's parquet_sha256 is not a SHA-256")
    if not 0 <= meta["rows"] <= meta["rows_read"]:
        raise _CacheMiss("its sidecar's row counts disagree")
    columns = meta["columns"]
    if not all(isinstance(c, str) for c in columns) or not all(
        isinstance(c, str) for c in meta["extra_columns"]
    ):
        raise _CacheMiss("its sidecar's column names are not all text")
    for name in meta["extra_columns"]:
        # The loader never keeps such a column (a formula, a derived name): nor may the cache.
        why = column_name_problem(name)
        if why:
            raise _CacheMiss(f"its extra column {name[:40]!r} could not be loaded: {why}")
    for p in meta["problems"]:
        if (
            not isinstance(p, dict)
            or set(p) != set(_PROBLEM_TYPES)
            or not all(isinstance(p[k], t) and not isinstance(p[k], bool) for k, t in _PROBLEM_TYPES.items())
            or p["severity"] not in ("error", "warning")
        ):
            raise _CacheMiss("its sidecar holds a malformed problem")
    return meta


#: The dtype each kind of column must have when read back (text may be `object` or `str`).
_FLOAT_COLUMNS = frozenset(schema.NUMERIC_COLUMNS)
_INT_COLUMNS = frozenset(schema.INTEGER_COLUMNS) | {"year_start", "year_end"}
_BOOL_COLUMNS = frozenset(schema.BOOLEAN_COLUMNS)


def _sidecar_digest(meta: dict) -> str:
    """SHA-256 of the sidecar's content less this digest: a damaged sidecar cannot vouch for data."""
    return hashlib.sha256(_json_bytes({k: v for k, v in meta.items() if k != "sidecar_sha256"})).hexdigest()


def _signed_part(meta: dict) -> dict:
    """What a sidecar's signature covers: all it holds but the signature and its own digest."""
    return {k: v for k, v in meta.items() if k not in ("sidecar_sha256", "signature")}


def _sealed(meta: dict, key: bytes | None) -> dict:
    """The sidecar `meta` with its signature (when there is a key) and its digest filled in."""
    sealed = _signed_part(meta)
    if key is not None:
        sealed["signature"] = sign(key, sealed)
    sealed["sidecar_sha256"] = _sidecar_digest(sealed)
    return sealed


def _sign_in_place(entry: _CacheEntry, meta: dict, key: bytes) -> None:
    """Sign an entry that has just passed the full check (one written before there was a key,
    or under another); best effort: an entry left unsigned is only checked in full next time."""
    temporary: list[Path] = []
    with contextlib.suppress(OSError):
        try:
            temp = _temporary(entry.sidecar.parent, entry.sidecar.name, temporary)
            temp.write_bytes(_json_bytes(_sealed(meta, key)))
            os.replace(temp, entry.sidecar)
        finally:
            for leftover in temporary:
                with contextlib.suppress(OSError):
                    leftover.unlink(missing_ok=True)


def _check_frame(frame: pd.DataFrame, meta: dict, reference: Reference, articles: frozenset[int]) -> None:
    """The cheap invariants every validated, enriched table holds; the first broken one is a miss."""
    _check_types(frame.iloc[:0], meta)
    if len(frame) != meta["rows"]:
        raise _CacheMiss(f"it holds {len(frame)} rows; its sidecar says {meta['rows']}")
    _check_types(frame, meta)
    _check_values(frame, reference, articles)


def _check_types(frame: pd.DataFrame, meta: dict) -> None:
    """The columns a checked table has, with the types each kind of column has."""
    expected = [*EVENT_COLUMNS, *meta["extra_columns"], *schema.DERIVED_COLUMNS]
    if list(frame.columns) != meta["columns"] or sorted(frame.columns) != sorted(expected):
        raise _CacheMiss("its columns differ from those of a checked table")
    for col in frame.columns:
        dtype = frame[col].dtype
        if col in _FLOAT_COLUMNS:
            ok = dtype == np.float64
        elif col in _INT_COLUMNS:
            ok = dtype == pd.Int64Dtype()
        elif col in _BOOL_COLUMNS:
            ok = dtype == np.bool_
        else:
            # Parquet gives text back as `str`; a text column without nulls is all a check leaves.
            ok = isinstance(dtype, pd.StringDtype) and not frame[col].isna().any()
        if not ok:
            raise _CacheMiss(f"column {col} has type {dtype}, which no checked table gives")


def _check_values(frame: pd.DataFrame, reference: Reference, articles: frozenset[int]) -> None:
    """The invariants of a checked table's values, in memory (`_check_parquet` asks DuckDB)."""

    def bad(mask, column: str, what: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            value = frame[column].to_numpy()[np.flatnonzero(mask)[0]]
            value = value.item() if isinstance(value, np.generic) else value  # inf, not np.float64(inf)
            raise _CacheMiss(f"{column} {value!r} {what}")

    ids = frame["event_id"].astype(str)
    bad(~ids.str.fullmatch(schema.EVENT_ID_RE.pattern), "event_id", "is not a slug")
    bad(ids.duplicated(), "event_id", "occurs twice")
    bad(~frame["category"].isin(schema.CATEGORIES), "category", "is not a category")
    for col, (low, high) in schema.NUMBER_RANGES.items():
        values = frame[col].to_numpy(dtype=float)
        bad(np.isinf(values), col, "is not finite")
        if low is not None:
            bad((values < low) | (values > high), col, f"is outside {low}..{high}")
    bad(frame["lat"].isna() != frame["lon"].isna(), "lat", "comes without its lon")
    for col in ("date_start", "date_end"):
        dates = pd.Series(frame[col].unique())
        bad_dates = set(dates[(dates != "") & ~dates.astype(str).str.fullmatch(schema.DATE_RE.pattern)])
        bad(frame[col].isin(bad_dates), col, "is not an ISO date")
    codes = frame["country_iso3"]
    bad((codes != "") & ~codes.isin(reference.iso3_codes), "country_iso3", "is not a known ISO3 code")
    for col, (known, what) in _list_codes(reference).items():
        cells = pd.Series(frame[col].unique())
        unknown = set(cells[~cells.map(lambda c, k=known: _all_known(c, k))])
        bad(frame[col].isin(unknown), col, what)
    bad(~frame["article"].isin(list(articles)), "article", "is not in sources.csv")
    for col, what, _sql, breaks in _row_rules():
        broken = np.asarray(breaks(frame), dtype=bool)
        if broken.any():
            raise _CacheMiss(f"{col} of {frame['event_id'].iloc[np.flatnonzero(broken)[0]]!r} {what}")
    ok = _names_match(reference)
    triples = frame[["country_iso3", "country_name", "continent"]].drop_duplicates()
    for code, name, continent in triples.itertuples(index=False, name=None):
        if not ok(code, name, continent):
            raise _CacheMiss(f"country_name {name!r} / continent {continent!r} do not belong to {code!r}")
    # The derived years the filters and the timeline read: the first four characters of the dates.
    start = _years_of(frame["date_start"])
    end = _years_of(frame["date_end"])
    end = np.where(np.isnan(end), start, end)
    for col, want in (("year_start", start), ("year_end", end)):
        held = frame[col].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        bad(~((held == want) | (np.isnan(held) & np.isnan(want))), col, "does not match the dates")


def _years_of(dates: pd.Series) -> np.ndarray:
    """The year of each ISO date as `geo.enrich` derives it (NaN when undated), per distinct date."""
    codes, distinct = pd.factorize(dates)
    years = pd.to_numeric(pd.Series(distinct, dtype=object).astype(str).str.slice(0, 4), errors="coerce")
    return np.append(years.to_numpy(dtype=float), np.nan)[codes]  # code -1 (a null) reads the NaN


def _row_rules() -> list[tuple[str, str, str, Callable[[pd.DataFrame], pd.Series]]]:
    """Rules of the checker (data.CHECKS) every row of a checked table keeps, each as DuckDB SQL
    and as pandas: (column, what a miss says, SQL that is true for a breaking row, the same).
    SQL's trim strips spaces only, less than Python's strip: it never refuses a checked table."""
    rules: list[tuple[str, str, str, Callable[[pd.DataFrame], pd.Series]]] = [
        (col, "is empty", f"trim({col}) = ''", lambda f, c=col: f[c].astype(str).str.strip() == "")
        for col in schema.REQUIRED_VALUES
        if col not in ("event_id", "category", "article")  # checked as slugs, categories, articles
    ]
    rules += [
        (
            col,
            f"is longer than {limit} characters",
            f"length({col}) > {limit}",
            lambda f, c=col, n=limit: f[c].astype(str).str.len() > n,
        )
        for col, limit in schema.MAX_LENGTH.items()
    ]
    rules.append(
        (
            "unit",
            "is empty while a value is given",
            "value IS NOT NULL AND unit = ''",
            lambda f: f["value"].notna() & (f["unit"] == ""),
        )
    )
    rules += [
        (
            note,
            f"is empty while {flag} is true",
            f"{flag} AND trim({note}) = ''",
            lambda f, a=flag, b=note: f[a].astype(bool) & (f[b].astype(str).str.strip() == ""),
        )
        for flag, note in schema.INFERENCE_FLAGS.items()
    ]
    return rules


def _names_match(reference: Reference):
    """Whether a (country_iso3, country_name, continent) triple is what `geo.enrich` derives."""
    names, continents = reference.country_names, reference.continents

    def ok(code, name, continent) -> bool:
        return name == names.get(code, code) and continent == continents.get(code, "")

    return ok


def _list_codes(reference: Reference) -> dict[str, tuple[frozenset, str]]:
    """The list columns of a checked table: the codes each may hold, and what a miss says."""
    return {
        "participants": (frozenset(reference.iso3_codes), "holds a code that is not a known ISO3 code"),
        "organisations": (frozenset(reference.org_codes), "holds an unknown organisation"),
    }


def _all_known(cell, known: frozenset) -> bool:
    return isinstance(cell, str) and all(item in known for item in split_list(cell))


#: The year of an ISO date column in SQL, as `geo.enrich` derives it (NULL when undated).
_DERIVED_YEARS = ("year_start", "year_end")
_SQL_YEAR = "TRY_CAST(NULLIF(substr({}, 1, 4), '') AS BIGINT)"


def _check_parquet(
    path: Path, meta: dict, reference: Reference, articles: frozenset[int], report: Progress | None = None
) -> None:
    """`_check_frame` for a Parquet file left where it lies: its footer's schema and row count,
    then a few DuckDB scans over the file (a few columns each, bounded memory):
    - the rows failing any per-row test (ids' form, numbers, derived years, the checker's row
      rules), counted in one screen; only if any fail are the tests counted apart, to name the
      first failure;
    - the distinct values of the coded columns and list cells (a few thousand, whatever the
      row count), and the distinct (country, name, continent) triples, tested here;
    - the event ids proved unique: the distinct 64-bit hashes of the ids are counted; equal ids
      have equal hashes, so as many distinct hashes as rows means as many distinct ids (exact,
      and cheaper than grouping the text). Fewer (a duplicate, or rarely a collision) and the
      ids themselves are grouped to name the duplicate.
    """
    import duckdb

    def step(fraction: float, what: str) -> None:
        if report is not None:
            report(fraction, f"Checking the cached copy: {what}…")

    footer = pq.read_metadata(path)
    _check_types(footer.schema.to_arrow_schema().empty_table().to_pandas(), meta)
    if footer.num_rows != meta["rows"]:
        raise _CacheMiss(f"it holds {footer.num_rows} rows; its sidecar says {meta['rows']}")
    lows = {col: low for col, (low, _high) in schema.NUMBER_RANGES.items() if low is not None}
    # Per row: the ids' form, the numbers and the years derived from the dates.
    tests = [
        ("event_id", "is not a slug", "NOT regexp_full_match(event_id, $slug)"),
        *((col, "is not finite", f"isinf({col})") for col in schema.NUMBER_RANGES),
        *(
            (col, f"is outside {low}..{schema.NUMBER_RANGES[col][1]}", f"({col} < {low} OR {col} > {high})")
            for col, low in lows.items()
            for high in [schema.NUMBER_RANGES[col][1]]
        ),
        ("lat", "comes without its lon", "(lat IS NULL) <> (lon IS NULL)"),
        (
            "year_start",
            "does not match the dates",
            f"year_start IS DISTINCT FROM {_SQL_YEAR.format('date_start')}",
        ),
        (
            "year_end",
            "does not match the dates",
            f"year_end IS DISTINCT FROM coalesce({_SQL_YEAR.format('date_end')}, year_start)",
        ),
    ]
    # Per distinct value, in Python: a few thousand dates and codes, whatever the row count.
    allowed = {
        "category": (lambda v: v in schema.CATEGORIES, "is not a category"),
        "date_start": (lambda v: v == "" or schema.DATE_RE.fullmatch(v) is not None, "is not an ISO date"),
        "date_end": (lambda v: v == "" or schema.DATE_RE.fullmatch(v) is not None, "is not an ISO date"),
        "country_iso3": (lambda v: v == "" or v in reference.iso3_codes, "is not a known ISO3 code"),
        "article": (lambda v: v is not None and v in articles, "is not in sources.csv"),
    }
    # A missing value in a coded column is as wrong as a bad one (`list` would drop it).
    tests += [(col, "is missing", f"{col} IS NULL") for col in allowed]
    allowed |= {
        col: (lambda v, k=known: _all_known(v, k), what)
        for col, (known, what) in _list_codes(reference).items()
    }
    rules = _row_rules()  # the checker's row rules: the first breaking row's id per rule
    counts = ", ".join(f"count(*) FILTER (WHERE {test})" for _col, _what, test in tests)
    firsts = ", ".join(f"first({col}) FILTER (WHERE {test})" for col, _what, test in tests)
    rule_firsts = ", ".join(f"first(event_id) FILTER (WHERE {test})" for _col, _what, test, _b in rules)
    lists = ", ".join(f"list(DISTINCT {col})" for col in allowed)
    # One count of the rows failing any test (NULL is a pass, as FILTER reads it); only when it
    # is not 0 are the tests counted apart, to name the first failure (cheaper by half at 10M).
    every = [test for _col, _what, test in tests] + [test for _col, _what, test, _b in rules]
    failing = " OR ".join(f"coalesce({test}, false)" for test in every)
    screen = f"SELECT count(*) FILTER (WHERE {failing}) FROM read_parquet($path)"
    # Apart: a DISTINCT aggregate makes DuckDB run its whole query on one thread.
    distinct = f"SELECT {lists} FROM read_parquet($path)"
    triples = "SELECT DISTINCT country_iso3, country_name, continent FROM read_parquet($path)"
    hashes = "SELECT count(*) FROM (SELECT hash(event_id) FROM read_parquet($path) GROUP BY 1)"
    params = {"path": str(path), "slug": schema.EVENT_ID_RE.pattern}
    with duckdb.connect() as con, tempfile.TemporaryDirectory(prefix="summit-atlas-check-") as spill:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'; SET temp_directory = $dir", {"dir": spill})
        row = None
        step(0.1, "every row's values and rules")
        if con.execute(screen, params).fetchone()[0]:
            row = con.execute(f"SELECT {counts}, {firsts} FROM read_parquet($path)", params).fetchone()
            # The derived years are reported after the dates they derive from, as `_check_values` does.
            for i, (col, what, _test) in enumerate(tests):
                if row[i] and col not in _DERIVED_YEARS:
                    raise _CacheMiss(f"{col} {row[len(tests) + i]!r} {what}")
        step(0.6, "the codes in use")
        found = con.execute(distinct, {"path": str(path)}).fetchone()
        for j, (col, (ok, what)) in enumerate(allowed.items()):
            for value in found[j] or ():
                if not ok(value):
                    raise _CacheMiss(f"{col} {value!r} {what}")
        if row is not None:
            for i, (col, what, _test) in enumerate(tests):
                if row[i] and col in _DERIVED_YEARS:
                    raise _CacheMiss(f"{col} {row[len(tests) + i]!r} {what}")
            hits = con.execute(
                f"SELECT {rule_firsts} FROM read_parquet($path)", {"path": str(path)}
            ).fetchone()
            for (col, what, _test, _breaks), hit in zip(rules, hits, strict=True):
                if hit is not None:
                    raise _CacheMiss(f"{col} of {hit!r} {what}")
            raise _CacheMiss("a row fails a check of a checked table")  # not reached: the screen agrees
        step(0.7, "country names")
        names_ok = _names_match(reference)
        for code, name, continent in con.execute(triples, {"path": str(path)}).fetchall():
            if not names_ok(code, name, continent):
                raise _CacheMiss(f"country_name {name!r} / continent {continent!r} do not belong to {code!r}")
        step(0.75, "that every event id is unique")
        if con.execute(hashes, {"path": str(path)}).fetchone()[0] != footer.num_rows:
            twice = con.execute(
                "SELECT event_id FROM read_parquet($path) GROUP BY event_id HAVING count(*) > 1 LIMIT 1",
                {"path": str(path)},
            ).fetchone()
            if twice is not None:  # else two ids shared a hash: they are still unique
                raise _CacheMiss(f"event_id {twice[0]!r} occurs twice")


class _Built(NamedTuple):
    result: LoadResult
    load: Callable[[], pd.DataFrame]
    pin: _Pinned
    notices: tuple[str, ...] = ()


class _ParquetSink(Sink):
    """Enriches each checked batch and appends it to a temporary Parquet file: nothing is kept."""

    def __init__(self, folder: Path, name: str, reference: Reference, temporary: list[Path]) -> None:
        super().__init__()
        self.folder, self.name, self.reference, self.temporary = folder, name, reference, temporary
        self.path: Path | None = None
        self.schema: pa.Schema | None = None
        self.writer: pq.ParquetWriter | None = None
        self.rows = self.batches = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-batches")
        self._pending: Future | None = None

    def add(self, frame: pd.DataFrame) -> None:
        if not len(frame):
            return
        self.rows += len(frame)
        self.batches += 1
        if self.writer is None:
            table = self._table(frame)
            self.schema = table.schema
            self.path = _temporary(self.folder, self.name, self.temporary)
            self.writer = pq.ParquetWriter(self.path, self.schema)
            self.writer.write_table(table)
            return
        # Enriching, converting and compressing a batch run on a second thread, while the next
        # batch is checked: Arrow's kernels and the Parquet encoder let go of the GIL. One batch
        # waits at most, so memory stays bounded.
        self._wait()
        self._pending = self._pool.submit(lambda: self.writer.write_table(self._table(frame)))

    def _table(self, frame: pd.DataFrame) -> pa.Table:
        enriched = enrich(frame, self.reference, sort=False)  # the reader puts the batches in order
        enriched.attrs = {}
        return pa.Table.from_pandas(enriched, schema=self.schema, preserve_index=False)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self._wait()
        finally:
            self._pool.shutdown(wait=True)
            if self.writer is not None:
                self.writer.close()
                self.writer = None

    def reset(self) -> None:
        with contextlib.suppress(Exception):  # a failed write is the reason to start again
            self.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
        self.path, self.schema, self.rows, self.batches = None, None, 0, 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-batches")

    def frame(self, columns: list[str]) -> pd.DataFrame:
        return pd.DataFrame(columns=columns)


def _check_into_cache(path: Path, entry: _CacheEntry, reference, articles, label: str, report: Progress):
    """Check a table batch by batch into its cache entry: each batch enriched and appended to a
    temporary Parquet file, the file put in the views' order, then its sidecar written; both
    renamed into place, the sidecar last. The built table and "", or None and why nothing was
    cached ("" when there was nothing to cache: no valid row)."""
    folder = entry.parquet.parent
    temporary: list[Path] = []
    sorting: list[str] = []  # why the sort into the views' order failed, if it did
    sink = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(folder)
        before = _stat_key(path)
        sink = _ParquetSink(folder, entry.parquet.name, reference, temporary)
        report(0.05, f"Reading and checking {label}…")
        result = load_events(
            path, reference, articles, name=label, sink=sink, progress=_rows_report(report, 0.05, 0.85)
        )
        sink.close()
        if sink.rows == 0:
            return None, ""
        if _stat_key(path) != before:
            return None, "the file changed while it was checked"
        staged = sink.path
        if sink.rows >= SORT_MIN_ROWS:
            report(0.86, f"Putting {sink.rows:,} events in date order for quick views…")
            staged, unsorted = _in_views_order(staged, sink.schema, folder, entry.parquet.name, temporary)
            if unsorted:
                sorting.append(
                    f"cache {entry.parquet.name}: the table could not be put in date order "
                    f"({unsorted}); it is kept in its CSV's order, so its views are slower "
                    "(tried again when the table changes)"
                )
        report(0.95, f"Saving the checked table for next time ({sink.rows:,} events)…")
        meta = {
            "key": entry.key,
            "parquet_sha256": _sha256_file(staged),
            "rows": sink.rows,
            "rows_read": result.rows_read,
            "columns": [str(c) for c in sink.schema.names],
            "extra_columns": list(result.extra_columns),
            "problems": [asdict(p) for p in result.problems],
        }
        # Signed: this entry has just been checked in full, so a reopen need not check it again.
        meta = _sealed(meta, cache_key(folder, create=True))
        sidecar_tmp = _temporary(folder, entry.sidecar.name, temporary)
        sidecar_tmp.write_bytes(_json_bytes(meta))
        pin = _Pinned(staged)  # opened before the rename: what is read is what was written
        os.replace(staged, entry.parquet)
        pin.name = entry.parquet.name
        os.replace(sidecar_tmp, entry.sidecar)
    except Exception as exc:  # disk full, a folder that is a file, an engine error: not cached
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        if sink is not None:
            sink.close()
        for temp in temporary:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
    load = _LazyLoad(pin.path, meta, reference, articles, pin)
    extra = tuple(result.extra_columns)
    lazy = LoadResult(
        lambda: _schema_frame(load(), extra), result.problems, result.rows_read, extra, sink.rows
    )
    return _Built(lazy, load, pin, tuple(sorting)), ""


#: From this many rows a checked table's Parquet file is rewritten in the views' order when it
#: is not in it already (its CSV was not): an unsorted file makes every aggregate compare text
#: keys (a map rerun at 10M rows 1.0-1.3 s, against 0.2-0.75 s in order; at 1M 0.3 s either
#: way), and sorting 1M rows would cost a first check about 4 s it cannot spare.
SORT_MIN_ROWS = 3_000_000
#: DuckDB's memory for that sort (it spills past it to a folder beside the cache).
SORT_MEMORY = "400MB"


def _in_views_order(
    staged: Path, schema: pa.Schema, folder: Path, name: str, temporary: list[Path]
) -> tuple[Path, str]:
    """`staged` rewritten in the views' order (`geo.VIEWS_ORDER_SQL`) and "", or `staged` itself
    and "" when it is in that order already, or `staged` and why the sort failed (the table is
    served as it is: slower views, never wrong ones). The rows are sorted by DuckDB, spilling to
    a temporary folder, and written back by pyarrow with the file's own schema (its pandas
    metadata, so a reopen types the columns as before)."""
    import duckdb

    from dashboard.engine import Engine
    from dashboard.geo import VIEWS_ORDER_SQL

    engine = Engine.from_parquet(staged)
    try:
        if engine.in_date_order():
            return staged, ""
    finally:
        engine.close()
    target = _temporary(folder, name, temporary)
    # What the check freed goes back to the system first (Arrow's allocator keeps it otherwise):
    # the sort's own memory then comes on top of the process's base, not of the check's peak.
    pa.default_memory_pool().release_unused()
    try:
        with (
            duckdb.connect(config={"threads": 2, "memory_limit": SORT_MEMORY}) as con,
            # Named as the other temporaries: a crash mid-sort leaves it for the next check to remove.
            tempfile.TemporaryDirectory(prefix=f".{name}.sort-", suffix=".tmp", dir=folder) as spill,
        ):
            con.execute("SET preserve_insertion_order = false")
            con.execute("SET temp_directory = $dir", {"dir": spill})
            query = f"SELECT * FROM read_parquet(?) ORDER BY {VIEWS_ORDER_SQL}"
            reader = con.sql(query, params=[str(staged)]).to_arrow_reader(100_000)
            with pq.ParquetWriter(target, schema) as writer:
                for batch in reader:
                    writer.write_table(pa.Table.from_batches([batch]).cast(schema))
    except Exception as exc:  # out of memory or disk: keep the file in the CSV's order
        # The part written goes now: on a full disk it would leave no room for the sidecar.
        with contextlib.suppress(OSError):
            target.unlink(missing_ok=True)
        return staged, f"{type(exc).__name__}: {str(exc)[:200]}"
    return target, ""


def _stat_key(path: Path) -> tuple[int, int, int]:
    """What changes when a file is written: a same-size edit with its mtime set back still
    changes its ctime."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def _temporary(folder: Path, name: str, created: list[Path]) -> Path:
    """A new, uniquely named temporary file beside `name`, remembered for the cleanup."""
    handle, path = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    os.close(handle)
    created.append(Path(path))
    return Path(path)


def _remove_stale_temporaries(folder: Path) -> None:
    """Temporary files a crashed write left behind, and a crashed sort's spill folder, once they
    are older than STALE_TMP_SECONDS."""
    cutoff = time.time() - STALE_TMP_SECONDS
    for path in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            facts = path.lstat()
            if facts.st_mtime < cutoff:
                if stat.S_ISDIR(facts.st_mode):
                    shutil.rmtree(path)
                else:
                    path.unlink()


def load_dataset(
    events_source: Path | str | None = None,
    geodata: Path | str | None = None,
    sources: Path | str | None = None,
    *,
    cache_dir: Path | str | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """Load, check and enrich an events table; `sources=None` picks it with `sources_path`."""
    path = events_path(events_source)
    reference, frame, problems = load_reference_and_sources(
        geodata_path(geodata), sources_path(path, sources)
    )
    return build_dataset(path, reference, frame, problems, cache_dir=cache_dir, progress=progress)
