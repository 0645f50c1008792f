"""Everything one view of the dashboard needs, loaded and joined once: the seam caches wrap.

`load_dataset` reads the reference geodata, the sources and an events table, validates the
table, and does the spatial join. The UI caches its result; the CLI calls it directly, so the
command-line export and the download button run the same code on the same frame.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from dashboard.data import DEFAULT_EVENTS, DEFAULT_SOURCES, LoadResult, Problem, load_events, load_sources
from dashboard.filters import Vocabulary
from dashboard.geo import GEODATA_DIR, Reference, enrich, load_reference, split_list
from dashboard.schema import EVENT_COLUMNS

ENV_EVENTS = "SUMMIT_ATLAS_EVENTS"
ENV_CACHE = "SUMMIT_ATLAS_CACHE"
#: Tables from this size up are cached as Parquet after their first validation; smaller ones
#: validate faster than Parquet reads them back.
CACHE_MIN_BYTES = 2_000_000
#: Bump when validation or enrichment changes what a cached frame would hold.
CACHE_VERSION = "3"

#: Columns read back from the cache as `object`, not Arrow-backed `str` (see `_read_cache`).
_LOOPED_COLUMNS = ("participants", "organisations", "country_iso3")

#: Reports loading progress: a fraction between 0 and 1, and what is happening.
Progress = Callable[[float, str], None]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated, enriched events table with the reference data it was checked against."""

    reference: Reference
    sources: pd.DataFrame
    source_problems: tuple[Problem, ...]
    result: LoadResult
    events: pd.DataFrame  # enriched: the frame every view filters
    label: str
    from_cache: bool = False
    _memo: dict = field(default_factory=dict, repr=False)

    def vocabulary(self) -> Vocabulary:
        """The values filters may take; worked out once per dataset (every rerun asks)."""
        if "vocabulary" not in self._memo:
            self._memo["vocabulary"] = self._vocabulary()
        return self._memo["vocabulary"]

    def codes_in_use(self, column: str) -> tuple[str, ...]:
        """The distinct codes a `;`-separated column holds, sorted; worked out once per dataset."""
        key = ("codes", column)
        if key not in self._memo:
            cells = self.events[column].dropna().unique()  # few distinct cells, even in 1M rows
            self._memo[key] = tuple(sorted({code for cell in cells for code in split_list(str(cell))}))
        return self._memo[key]

    def _vocabulary(self) -> Vocabulary:
        years = pd.concat([self.events["year_start"], self.events["year_end"]]).dropna()
        return Vocabulary(
            organisations=self.reference.org_codes,
            countries=self.reference.iso3_codes,
            articles=frozenset(int(a) for a in self.sources["article"]),
            event_ids=frozenset(self.events["event_id"]),
            member_orgs=frozenset(self.reference.orgs_with_members),
            year_min=int(years.min()) if len(years) else 1900,
            year_max=int(years.max()) if len(years) else 2100,
        )


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


def load_reference_and_sources(
    geodata: Path | str = GEODATA_DIR, sources: Path | str = DEFAULT_SOURCES
) -> tuple[Reference, pd.DataFrame, tuple[Problem, ...]]:
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

    The cache key is the file's path, size and modification time with the reference and
    sources files' (and CACHE_VERSION): change any of them and the table is checked again.
    """
    report = progress or (lambda fraction, text: None)
    label = name or (Path(events_source).name if not isinstance(events_source, bytes) else "upload")
    cache = _cache_paths(events_source, reference, sources, cache_dir)
    if cache is not None:
        report(0.1, f"Reading {label} from the cache of checked tables…")
        cached = _read_cache(*cache)
        if cached is not None:
            enriched, result = cached
            report(1.0, f"{label}: {result.rows_loaded:,} events ready")
            return Dataset(reference, sources, source_problems, result, enriched, label, from_cache=True)
    report(0.2, f"Reading and checking {label}…")
    articles = frozenset(int(a) for a in sources["article"])
    result = load_events(events_source, reference, articles, name=name)
    report(0.7, f"Placing {result.rows_loaded:,} events in their countries…")
    enriched = enrich(result.frame, reference)
    enriched.attrs["extra_columns"] = result.extra_columns
    if cache is not None:
        report(0.9, f"Saving the checked table for next time ({result.rows_loaded:,} events)…")
        _write_cache(*cache, enriched, result)
    report(1.0, f"{label}: {result.rows_loaded:,} events ready")
    return Dataset(reference, sources, source_problems, result, enriched, label)


def cache_dir() -> Path:
    """Where checked tables are cached: $SUMMIT_ATLAS_CACHE, else the user's cache folder."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "summit-atlas"


def _cache_paths(source, reference: Reference, sources: pd.DataFrame, directory) -> tuple[Path, Path] | None:
    """The Parquet file and its JSON sidecar for a table on disk, or None if it is not cached."""
    if isinstance(source, bytes):
        return None
    try:
        path = Path(source).resolve()
        stat = path.stat()
    except OSError:
        return None
    if stat.st_size < CACHE_MIN_BYTES:
        return None
    key = {
        "version": CACHE_VERSION,
        "path": str(path),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "reference": reference.fingerprint(),
        "sources": pd.util.hash_pandas_object(sources.astype(str), index=False).sum().item(),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
    folder = Path(directory) if directory is not None else cache_dir()
    stem = f"{path.stem[:40]}-{digest}"
    return folder / f"{stem}.parquet", folder / f"{stem}.json"


def _read_cache(parquet: Path, sidecar: Path) -> tuple[pd.DataFrame, LoadResult] | None:
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        enriched = pd.read_parquet(parquet)
    except (OSError, ValueError):
        return None
    # Parquet brings text back as pandas' Arrow-backed `str` dtype: same values and string
    # methods as the validator's `object` columns, in a fraction of the memory (1M rows fit in
    # 2 GB). Only the short code lists the sidebar loops over each rerun go back to `object`.
    for col, dtype in meta["dtypes"].items():
        if col in enriched and dtype != "object" and str(enriched[col].dtype) != dtype:
            enriched[col] = enriched[col].astype(dtype)
    for col in _LOOPED_COLUMNS:
        if col in enriched:
            enriched[col] = enriched[col].astype(object)
    extra = tuple(meta["extra_columns"])
    enriched.attrs["extra_columns"] = extra
    frame = enriched[list(EVENT_COLUMNS) + list(extra)].copy()
    frame.attrs["extra_columns"] = extra
    problems = tuple(Problem(**p) for p in meta["problems"])
    return enriched, LoadResult(frame, problems, int(meta["rows_read"]), extra)


def _write_cache(parquet: Path, sidecar: Path, enriched: pd.DataFrame, result: LoadResult) -> None:
    """Write atomically; a cache that cannot be written is skipped, never an error."""
    meta = {
        "rows_read": result.rows_read,
        "extra_columns": list(result.extra_columns),
        "problems": [asdict(p) for p in result.problems],
        "dtypes": {col: str(dtype) for col, dtype in enriched.dtypes.items()},
    }
    tmp = parquet.with_name(f".{parquet.name}.{os.getpid()}.tmp")
    try:
        parquet.parent.mkdir(parents=True, exist_ok=True)
        frame = enriched.copy(deep=False)
        frame.attrs = {}
        frame.to_parquet(tmp, index=False)
        sidecar.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, parquet)
    except (OSError, ValueError, ImportError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def load_dataset(
    events_source: Path | str | None = None,
    geodata: Path | str = GEODATA_DIR,
    sources: Path | str | None = None,
    *,
    cache_dir: Path | str | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """Load, check and enrich an events table; `sources=None` picks it with `sources_path`."""
    path = events_path(events_source)
    reference, frame, problems = load_reference_and_sources(geodata, sources_path(path, sources))
    return build_dataset(path, reference, frame, problems, cache_dir=cache_dir, progress=progress)
