"""Read and validate `events.csv` and `sources.csv`, reporting every problem with line and column.

Reading never raises on bad content: a malformed row becomes a `Problem` naming file, line,
column and reason, and is skipped; every other row is kept, and every data line is counted (an
unclosed quote costs its own line, not the lines it would swallow). The header is checked before
any frame is built: too many columns refuse the table, an unsafe or reserved column name drops
that column only.

Two readers, one set of checks. A file the byte scan proves plain (`reading.scan_plain`: UTF-8,
no field spanning lines, every quote where RFC 4180 puts it) is read by pyarrow's CSV reader in
batches of BATCH_BYTES, and the physical line of a record is worked out from the blank lines'
positions, for the records with a problem only. Anything else, or anything pyarrow refuses (a
row of the wrong width), is read by the exact reader (`reading.read_rows`), which words what is
wrong. Both hand batches of text columns to the same CHECKS, which cost per distinct value or
run in Arrow's kernels, so 94 rows and ten million take the same path and give the same result
(tests/test_data.py compares them on every hostile table).
"""

from __future__ import annotations

import calendar
import contextlib
import operator
import re
import sys
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from dashboard import schema
from dashboard.formatting import plural
from dashboard.geo import SPATIAL_TOLERANCE_KM, Reference, points_near_countries
from dashboard.lists import normalise_cell, spelling_from, split_list
from dashboard.reading import (
    BIDI_RE,
    NEUTRALISED_RE,
    ParsedRows,
    Problem,
    decode,
    read_rows,
    scan_plain,
)

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_EVENTS = REPO_DIR / "events.csv"
DEFAULT_SOURCES = REPO_DIR / "sources.csv"


@dataclass(frozen=True, eq=False)
class LoadResult:
    """The valid rows of a table, and what was wrong with the rest."""

    #: The valid rows, or a function that reads them (a table checked into a Parquet file).
    valid: pd.DataFrame | Callable[[], pd.DataFrame]
    problems: tuple[Problem, ...]
    rows_read: int
    extra_columns: tuple[str, ...] = field(default=())
    #: How many rows passed, when `valid` is not a frame to count.
    loaded: int | None = None

    @property
    def frame(self) -> pd.DataFrame:
        return self.valid() if callable(self.valid) else self.valid

    @property
    def rows_loaded(self) -> int:
        return self.loaded if self.loaded is not None else len(self.frame)

    @property
    def rows_skipped(self) -> int:
        return self.rows_read - self.rows_loaded

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self, name: str) -> str:
        if self.ok:
            return f"{name}: {plural(self.rows_loaded, 'row')} valid"
        count = len(self.problems)
        return (
            f"{name}: {self.rows_loaded:,} of {self.rows_read:,} rows loaded, "
            f"{self.rows_skipped:,} skipped, {plural(count, 'problem')}"
        )


#: Bytes the columnar reader takes at a time: one batch of rows is checked (and, for a cached
#: table, enriched and written) at a time, so memory does not grow with the file. About 80k
#: rows of a typical table.
BATCH_BYTES = 16 << 20

#: How a table is read: "auto" takes the columnar reader when the byte scan proves the file
#: plain and the exact reader (`read_rows`) otherwise; "exact" always takes `read_rows`.
ENGINES = ("auto", "exact")


class Sink:
    """Where checked batches go. The default keeps them and joins them into one frame; the cache
    (`dataset.py`) enriches each and appends it to a Parquet file instead."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame) -> None:
        self.frames.append(frame)

    def reset(self) -> None:
        """Forget every batch: the table is read again by the exact reader."""
        self.frames = []

    def frame(self, columns: list[str]) -> pd.DataFrame:
        if not self.frames:
            return _typed(pd.DataFrame(columns=columns, dtype=object))
        extra = self.frames[0].attrs.get("extra_columns", ())
        frame = self.frames[0] if len(self.frames) == 1 else pd.concat(self.frames, ignore_index=True)
        frame = _typed(frame)
        frame.attrs["extra_columns"] = extra
        return frame


#: Reports checking progress: rows checked so far, and how far along that is (done of total).
RowsProgress = Callable[[int, int, int], None]


class _Restart(Exception):
    """The columnar reader met what only the exact reader can report: read the table again."""


def load_events(
    source: Path | str | bytes,
    reference: Reference,
    articles: frozenset[int] | None = None,
    *,
    name: str | None = None,
    sink: Sink | None = None,
    engine: str = "auto",
    batch_bytes: int | None = None,
    progress: RowsProgress | None = None,
) -> LoadResult:
    """Read and validate an events table from a path or raw bytes.

    A provably plain file (`reading.scan_plain`) is read in batches by pyarrow's CSV reader
    and each batch checked as it comes; anything else (another encoding, bidirectional
    controls, a field spanning lines, a stray quote, a row of the wrong width) is read by the
    exact reader, which reports it. Both go through the same checks (CHECKS) and give the same
    result. With a `sink`, the valid rows go there batch by batch and the result's frame is
    empty (`rows_loaded` still counts them).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}; expected one of {', '.join(ENGINES)}")
    name = name or ("upload.csv" if isinstance(source, bytes) else Path(source).name)
    sink = sink if sink is not None else Sink()
    batch_bytes = batch_bytes or BATCH_BYTES
    if engine == "auto":
        layout, _why = scan_plain(source, name)
        if layout is not None:
            try:
                return _load_plain(source, layout, reference, articles, name, sink, batch_bytes, progress)
            except _Restart:
                sink.reset()
    return _load_exact(source, reference, articles, name, sink, progress)


def _load_exact(source, reference, articles, name, sink, progress) -> LoadResult:
    if isinstance(source, bytes):
        raw = source
    else:
        try:
            raw = Path(source).read_bytes()
        except OSError as exc:
            empty = pd.DataFrame(columns=list(schema.EVENT_COLUMNS))
            return LoadResult(empty, (Problem(name, 0, "-", f"cannot read file: {exc}"),), 0)
    text, problems = decode(raw, name)
    del raw
    rows = read_rows(text, name)
    del text
    return validate_events(
        rows, reference, articles, name, problems + rows.problems, sink=sink, progress=progress
    )


def validate_events(
    rows: ParsedRows,
    reference: Reference,
    articles: frozenset[int] | None,
    name: str,
    problems: list[Problem] | None = None,
    *,
    sink: Sink | None = None,
    progress: RowsProgress | None = None,
) -> LoadResult:
    """Check parsed records against the schema and the reference data: every check in CHECKS.

    The header is checked first, before any frame is built: too many columns refuse the table;
    a column whose name is unsafe or taken by a derived column is not loaded (rows kept); a
    missing or doubled required column refuses the table.
    """
    problems = list(problems or [])
    sink = sink if sink is not None else Sink()
    header, at = rows.header, rows.header_line
    columns = _header_columns(header, at, name, problems)
    if columns is None or not rows.records:
        if columns is not None and not rows.unreadable:
            problems.append(Problem(name, at + 1, "-", "header only: the table has no rows"))
        return _result(sink, problems, rows.rows_read, columns[1] if columns else (), 0)
    keep, extra = columns
    lines, records, width = rows.lines, rows.records, len(header)
    bad = np.zeros(len(records), dtype=bool)
    # Rows with the wrong number of fields cannot be aligned to columns: report, then pad so
    # the frame can still be built (the padded row is dropped with the others at the end).
    for i, rec in enumerate(records):
        if len(rec) != width:
            problems.append(Problem(name, lines[i], "-", f"expected {width} fields, found {len(rec)}"))
            bad[i] = True
            records[i] = (rec + [""] * width)[:width]
    if len(keep) < width:  # columns not loaded (see column_name_problem) are left out here
        pick = operator.itemgetter(*keep)
        records = [pick(rec) if len(keep) > 1 else [pick(rec)] for rec in records]
    frame = pd.DataFrame(records, columns=[header[i] for i in keep], dtype=object)
    del records
    frame = frame.astype("str")
    line_at = np.asarray(lines, dtype=np.int64)
    seen = _FirstSeen()
    table = _Table(
        frame, 0, line_at.__getitem__, reference, articles, name, problems, seen, rows.bidi_rows, bad
    )
    loaded = table.run(extra, sink)
    if progress:
        progress(len(frame), 1, 1)
    return _result(sink, problems, rows.rows_read, extra, loaded)


def _load_plain(source, layout, reference, articles, name, sink, batch_bytes, progress) -> LoadResult:
    """Read a plain table batch by batch with pyarrow's CSV reader and check each batch."""
    problems: list[Problem] = []
    header, at = layout.header, layout.header_line
    columns = _header_columns(header, at, name, problems)
    if columns is None:
        return _result(sink, problems, layout.records, (), 0)
    keep, extra = columns
    names = [f"f{i}" for i in range(len(header))]
    try:
        reader = pacsv.open_csv(
            _data_stream(source, layout.data_offset),
            read_options=pacsv.ReadOptions(column_names=names, block_size=batch_bytes),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                include_columns=[names[i] for i in keep],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _Restart(str(exc)) from None
    seen = _FirstSeen()
    start = loaded = 0
    with reader, contextlib.closing(seen):
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise _Restart(str(exc)) from None
            if batch.num_rows == 0:
                continue
            frame = pd.DataFrame(
                {header[i]: batch.column(names[i]).to_pandas() for i in keep}, index=range(batch.num_rows)
            )
            del batch
            bad = np.zeros(len(frame), dtype=bool)
            offset = start
            table = _Table(
                frame,
                start,
                lambda idx, o=offset: layout.line_of(np.asarray(idx) + o),
                reference,
                articles,
                name,
                problems,
                seen,
                (),
                bad,
                line_of_record=layout.line_of,
            )
            loaded += table.run(extra, sink)
            start += len(frame)
            del frame, table
            if progress:
                progress(start, start, layout.records)  # the scan counted the records
    if start == 0:
        raise _Restart("no rows")  # the exact reader words "header only" and blank tables
    return _result(sink, problems, start, extra, loaded)


def _data_stream(source, offset: int):
    """The bytes of a table from `offset`: a file positioned there, or a slice of the upload."""
    if isinstance(source, bytes):
        return pa.BufferReader(pa.py_buffer(source).slice(offset))
    handle = open(source, "rb")  # noqa: SIM115 - the reader's stream closes it
    handle.seek(offset)
    return pa.PythonFile(handle, mode="r")


def _result(sink: Sink, problems, rows_read: int, extra, loaded: int) -> LoadResult:
    problems.sort(key=lambda p: (p.line, p.column))
    frame = sink.frame(list(schema.EVENT_COLUMNS) + list(extra))
    return LoadResult(frame, tuple(problems), rows_read, tuple(extra), loaded=loaded)


def _header_columns(header: list[str], at: int, name: str, problems: list[Problem]):
    """(kept column positions, extra column names), or None when no row can be loaded."""
    if not header:
        return None
    if len(header) > schema.MAX_COLUMNS:
        reason = f"{len(header):,} columns; at most {schema.MAX_COLUMNS}: no row can be loaded"
        problems.append(Problem(name, at, "-", reason))
        return None
    keep = []
    for i, column in enumerate(header):
        why = column_name_problem(column)
        if why:
            shown = column if column in schema.DERIVED_COLUMNS else _show(column)
            problems.append(Problem(name, at, shown, f"{why}; column not loaded", "warning"))
        else:
            keep.append(i)
    # An extra column named as another column but for letter case is not loaded: DuckDB, which
    # reads cached tables, cannot tell them apart (it would rename one, and lose it).
    taken = {c.casefold(): c for c in schema.EVENT_COLUMNS}
    for i in list(keep):
        column = header[i]
        if taken.get(column.casefold(), column) == column:  # new, or the very same name
            taken[column.casefold()] = column  # (a name given twice is refused below)
            continue
        reason = "another column has this name in other letter case; column not loaded"
        problems.append(Problem(name, at, _show(column), reason, "warning"))
        keep.remove(i)
    names = [header[i] for i in keep]
    duplicated = sorted({h for h in names if names.count(h) > 1})
    missing = [c for c in schema.EVENT_COLUMNS if c not in names]
    if duplicated:
        problems.append(Problem(name, at, ",".join(duplicated), "column named more than once"))
    if missing:
        problems.append(Problem(name, at, ",".join(missing), "required column missing: no row can be loaded"))
    if duplicated or missing:
        return None
    return keep, tuple(h for h in names if h not in schema.EVENT_COLUMNS)


def column_name_problem(column: str) -> str:
    """Why a column of this name cannot be loaded, or "" if it can.

    A name is written into every CSV export's header, so it must be safe there: not empty, not
    too long, not starting like a formula, free of control characters; and it must not be one of
    the columns the dashboard derives (schema.DERIVED_COLUMNS), which would overwrite it.
    """
    if column == "":
        return "column has no name"
    if len(column) > schema.MAX_COLUMN_NAME:
        return f"name is {len(column)} characters; at most {schema.MAX_COLUMN_NAME}"
    if column.startswith(schema.FORMULA_TRIGGERS):
        return f"name starts with {column[0]!r}, which a spreadsheet reads as a formula"
    controls = [c for c in column if unicodedata.category(c) == "Cc" or c in schema.BIDI_CONTROLS]
    if controls:
        codes = ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(controls))
        return f"name holds control characters ({codes})"
    # Letter case aside: DuckDB, which reads cached tables, does not tell `Year_Start` from
    # `year_start`.
    if column.casefold() in {c.casefold() for c in schema.DERIVED_COLUMNS}:
        return "the dashboard derives a column of this name, which would overwrite yours"
    if column.casefold() in {c.casefold() for c in schema.ENGINE_COLUMNS}:
        return "the dashboard's query engine uses this name for each event's position"
    return ""


#: Columns handed on as `object`, not Arrow-backed `str`: the short code lists the sidebar loops
#: over each rerun. A checked table and a cached one give the same types (`dataset._read_cache`).
LOOPED_COLUMNS = ("participants", "organisations", "country_iso3")


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for col in LOOPED_COLUMNS:
        if col in frame.columns:
            frame[col] = frame[col].astype(object)
    return frame


#: Memory an in-process DuckDB may use before it spills to disk (ids seen; cache checks).
DUCKDB_MEMORY = "400MB"


#: Points already found in or near their country's shape, or not, per reference data: a table
#: holds a few thousand distinct places, and every batch after the first finds most of them here.
_NEAR: dict[tuple[str, float, float, str], bool] = {}


class _FirstSeen:
    """Where each event_id first occurs, across the batches of one table (global record index).

    One batch is checked in memory (pandas' factorize); earlier batches' ids go to an
    in-process DuckDB table, so ten million ids cost DuckDB's compact storage, not a Python
    dict. A table read in one batch never touches DuckDB.
    """

    def __init__(self) -> None:
        self._pending: tuple[pa.Array, np.ndarray] | None = None
        self._db = None

    def earlier(self, ids: pd.Series, start: int) -> np.ndarray:
        """For each row, the record where its id first occurred if that is an earlier one, else -1."""
        n = len(ids)
        codes, uniques = pd.factorize(ids)
        # factorize numbers the distinct values in order of first appearance.
        first_pos = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)
        here = np.arange(n)
        earlier = first_pos[codes]
        dup = earlier != here
        earlier = earlier + start
        names = pa.array(np.asarray(uniques, dtype=object), pa.string())
        prior = self._prior(names)
        before = prior >= 0
        if before.any():
            earlier = np.where(before[codes], prior[codes], earlier)
            dup |= before[codes]
        self._pending = (names.filter(pa.array(~before)), (first_pos + start)[~before])
        return np.where(dup, earlier, -1)

    def close(self) -> None:
        """Drop the ids seen (DuckDB's table and its spill folder)."""
        if self._db is not None:
            self._db.close()
            self._spill.cleanup()
            self._db = None

    def _prior(self, names: pa.Array) -> np.ndarray:
        prior = np.full(len(names), -1, dtype=np.int64)
        if self._pending is None:
            return prior
        import duckdb  # only a table of several batches needs it

        if self._db is None:
            self._db = duckdb.connect()
            # Beyond its memory limit DuckDB spills to its temporary folder: ten million ids fit.
            self._spill = tempfile.TemporaryDirectory(prefix="summit-atlas-ids-")
            self._db.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'; SET preserve_insertion_order = false")
            self._db.execute("SET temp_directory = $dir", {"dir": self._spill.name})
            self._db.execute("CREATE TABLE seen (id VARCHAR, rec BIGINT)")
        ids, recs = self._pending
        pending = pa.table({"id": ids, "rec": pa.array(recs, pa.int64())})  # noqa: F841 - read by DuckDB
        self._db.execute("INSERT INTO seen SELECT id, rec FROM pending")
        batch = pa.table({"id": names, "k": pa.array(np.arange(len(names)), pa.int64())})  # noqa: F841
        found = self._db.execute("SELECT b.k, s.rec FROM batch b JOIN seen s ON b.id = s.id").fetchnumpy()
        prior[np.asarray(found["k"], dtype=np.int64)] = np.asarray(found["rec"], dtype=np.int64)
        return prior


class _Table:
    """A batch of a table under check: its cells as text, where each record starts, and what is
    wrong so far.

    Checks read `frame` and call `report`; the numbers and flags they parse are kept in `parsed`
    for the valid rows' typed columns. `line_at` names the physical lines of rows of this batch,
    `line_of_record` those of any record of the table (a duplicate's first occurrence); both
    are asked only about rows with a problem.
    """

    def __init__(
        self,
        frame,
        start,
        line_at,
        reference,
        articles,
        name,
        problems,
        seen,
        bidi_rows,
        bad,
        line_of_record=None,
    ) -> None:
        self.reference, self.articles, self.name, self.problems = reference, articles, name, problems
        self.frame, self.start, self.line_at = frame, start, line_at
        self.line_of_record = line_of_record or line_at
        self.seen, self.bidi_rows, self.bad = seen, bidi_rows, bad
        self.parsed: dict[str, pd.Series] = {}

    def run(self, extra: tuple[str, ...], sink: Sink) -> int:
        """Every check in CHECKS, then the valid rows to the sink; how many there were."""
        for check in CHECKS:
            check(self)
        valid = self.valid_rows(extra)
        sink.add(valid)
        return len(valid)

    def report(self, mask, column: str, reason, severity: str = "error") -> None:
        """Record a problem for each row in `mask`; `reason` is a string, a per-row Series, or a
        `_PerRow` that words the reason only for the rows that fail (a million good rows cost
        nothing)."""
        mask = mask.to_numpy(dtype=bool) if isinstance(mask, pd.Series) else np.asarray(mask, dtype=bool)
        rows = np.flatnonzero(mask)
        if not len(rows):
            return
        for i, line in zip(rows, self.line_at(rows), strict=True):
            if isinstance(reason, str):
                why = reason
            elif isinstance(reason, (_PerRow, _Coded)):
                why = reason.at(i)
            else:
                why = reason.iloc[i]
            self.problems.append(Problem(self.name, int(line), column, why, severity))
        if severity == "error":
            self.bad[rows] = True

    def valid_rows(self, extra: tuple[str, ...]) -> pd.DataFrame:
        keep = ~self.bad
        valid = self.frame.loc[keep].copy()
        for col, values in self.parsed.items():
            valid[col] = values[keep]
        valid = valid[list(schema.EVENT_COLUMNS) + list(extra)].reset_index(drop=True)
        valid.attrs["extra_columns"] = extra
        return valid


# ----- the checks, in the order they run -------------------------------------------------------
# Each costs per distinct value or runs in Arrow's kernels, never a Python step per cell: a
# million rows hold a few thousand distinct codes, dates and lists.


def strip_bidi_controls(t: _Table) -> None:
    """Bidirectional controls (schema.BIDI_CONTROLS) are removed from every cell, each with a
    warning: they can make a title display as other text than it holds. The row is kept. Only
    the rows the reader saw them in are looked at (`ParsedRows.bidi_rows`)."""
    if not t.bidi_rows:
        return
    rows = list(t.bidi_rows)
    for col in t.frame.columns:
        values = t.frame[col]
        found = [i for i, v in zip(rows, values.iloc[rows], strict=True) if BIDI_RE.search(v)]
        if not found:
            continue
        hit = np.zeros(len(values), dtype=bool)
        hit[found] = True
        t.report(hit, col, _PerRow(values, _bidi_reason), "warning")
        cleaned = values.to_numpy(dtype=object).copy()
        cleaned[found] = [BIDI_RE.sub("", values.iloc[i]) for i in found]
        t.frame[col] = pd.Series(cleaned, index=values.index, dtype="str")


def _bidi_reason(value: str) -> str:
    codes = ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(BIDI_RE.findall(value)))
    return f"bidirectional controls removed ({codes}): they can make text display in another order"


def normalise_cells(t: _Table) -> None:
    """Codes, dates and numbers lose stray spaces; list cells take their canonical form
    (`lists.normalise_cell`); prose is kept exactly as written, less the exporter's mark."""
    frame, extra = t.frame, [c for c in t.frame.columns if c not in schema.EVENT_COLUMNS]
    for col in schema.CODED_COLUMNS:
        frame[col] = _strip(frame[col])
    frame["participants"] = _map_distinct(frame["participants"], normalise_cell)
    spelling = spelling_from(t.reference.org_codes)
    frame["organisations"] = _map_distinct(frame["organisations"], lambda c: normalise_cell(c, spelling))
    # Every free-text column, the schema's and any extra ones, loses the one apostrophe the
    # exporter adds before a formula trigger, so export -> load gives back the same values.
    for col in (*schema.TEXT_COLUMNS, *extra):
        frame[col] = _restore_neutralised_column(frame[col])


def check_required(t: _Table) -> None:
    for col in schema.REQUIRED_VALUES:
        t.report(_strip(t.frame[col]) == "", col, "required value is empty")


def check_lengths(t: _Table) -> None:
    for col, limit in schema.MAX_LENGTH.items():
        lengths = t.frame[col].str.len()  # code points, as len() counts them
        t.report(
            lengths > limit, col, _PerRow(lengths, lambda n, lim=limit: f"{n} characters; at most {lim}")
        )


def check_ids(t: _Table) -> None:
    ids = t.frame["event_id"]
    # Arrow's RE2 here: the ids are stripped, so `$` means the same in both regex dialects.
    slug = ids.str.match(schema.EVENT_ID_RE.pattern).to_numpy(dtype=bool)
    t.report(
        (ids != "").to_numpy() & ~slug,
        "event_id",
        _PerRow(ids, lambda v: f"{_show(v)} is not a slug (lowercase letters, digits, hyphens)"),
    )
    filled = (ids != "").to_numpy()
    earlier = t.seen.earlier(ids, t.start)
    dup = (earlier >= 0) & filled
    if dup.any():
        where = np.flatnonzero(dup)
        lines = t.line_of_record(earlier[where])
        reasons = pd.Series("", index=ids.index, dtype=object)
        reasons.iloc[where] = [
            f"duplicate id {_show(v)}, first on line {int(line)}"
            for v, line in zip(ids.iloc[where], lines, strict=True)
        ]
        t.report(dup, "event_id", reasons)


def check_categories(t: _Table) -> None:
    cats = t.frame["category"]
    t.report(
        (cats != "") & ~cats.isin(schema.CATEGORIES),
        "category",
        _PerRow(
            cats, lambda v: f"unknown category {_show(v)}; expected one of {', '.join(schema.CATEGORIES)}"
        ),
    )


def check_dates(t: _Table) -> None:
    frame = t.frame
    lo_start, _hi_start, why_start = _parse_dates(frame["date_start"])
    _lo_end, hi_end, why_end = _parse_dates(frame["date_end"])
    t.report(why_start.mask, "date_start", why_start)
    t.report(why_end.mask, "date_end", why_end)
    t.report((frame["date_start"] == "") & (frame["date_end"] != ""), "date_end", "end given without a start")
    ordered = np.isnan(hi_end) | np.isnan(lo_start) | (hi_end >= lo_start)
    t.report(~ordered, "date_end", _PerRow(frame["date_end"], lambda v: f"{_show(v)} is before date_start"))


def check_inference_flags(t: _Table) -> None:
    for flag, note in schema.INFERENCE_FLAGS.items():
        flags = pd.Series(_map_distinct(t.frame[flag], str.lower).to_numpy(), index=t.frame.index)
        t.report(
            ~flags.isin(schema.TRUE_VALUES | schema.FALSE_VALUES),
            flag,
            _PerRow(t.frame[flag], lambda v: f"{_show(v)} is not true or false"),
        )
        inferred = flags.isin(schema.TRUE_VALUES)
        t.report(
            inferred & (_strip(t.frame[note]) == ""),
            note,
            f"{flag} is true but no {note} says how it was inferred",
        )
        t.parsed[flag] = inferred.astype(bool)


def check_numbers(t: _Table) -> None:
    frame = t.frame
    for col, (low, high) in schema.NUMBER_RANGES.items():
        raw = frame[col]
        num = pd.Series(_to_numbers(raw), index=raw.index)
        t.report(
            (raw != "") & ~np.isfinite(num), col, _PerRow(raw, lambda v: f"{_show(v)} is not a finite number")
        )
        if low is not None:
            out = np.isfinite(num) & ((num < low) | (num > high))
            t.report(out, col, _PerRow(raw, lambda v, lo=low, hi=high: f"{v} is outside {lo}..{hi}"))
        t.parsed[col] = num
    t.report((frame["lat"] == "") != (frame["lon"] == ""), "lat,lon", "give both lat and lon, or neither")
    t.report((frame["value"] != "") & (frame["unit"] == ""), "unit", "a value needs its unit")


def check_codes(t: _Table) -> None:
    frame, known = t.frame, t.reference.iso3_codes
    codes = frame["country_iso3"]
    org_only = (frame["organisations"] != "") & (_strip(frame["place"]) == "") & (frame["lat"] == "")
    t.report(
        (codes == "") & ~org_only,
        "country_iso3",
        "required value is empty (only a row naming organisations and no place may leave it empty)",
    )
    t.report(
        (codes != "") & ~codes.isin(known),
        "country_iso3",
        _PerRow(codes, lambda v: f"unknown ISO3 code {_show(v)}"),
    )
    for column, allowed, what in (
        ("participants", known, "ISO3 code"),
        ("organisations", t.reference.org_codes, "organisation"),
    ):
        reasons = _Coded.of(t.frame[column], lambda cell, ok=allowed, w=what: _unknown_items(cell, ok, w))
        t.report(reasons.mask, column, reasons)


def check_articles(t: _Table) -> None:
    raw = t.frame["article"]
    art = pd.Series(_to_numbers(raw), index=raw.index)
    not_int = (raw != "") & (art.isna() | (art % 1 != 0))
    t.report(not_int, "article", _PerRow(raw, lambda v: f"{_show(v)} is not a whole number"))
    if t.articles is not None:
        unknown = art.notna() & ~not_int & ~art.isin(list(t.articles))
        known = ", ".join(str(a) for a in sorted(t.articles))
        t.report(unknown, "article", _PerRow(raw, lambda v: f"article {v} is not in sources.csv ({known})"))
    t.parsed["article"] = art.where(~not_int).astype("Int64")


def check_geography(t: _Table) -> None:
    """The point must sit in (or near) the shape of its country."""
    lat, lon, codes = t.parsed["lat"], t.parsed["lon"], t.frame["country_iso3"]
    ok = np.isfinite(lat) & np.isfinite(lon) & codes.isin(t.reference.iso3_codes)
    ok &= (lat.abs() <= 90) & (lon.abs() <= 180)
    if not ok.any():
        return
    idx = np.flatnonzero(ok.to_numpy())
    triples = pd.DataFrame(
        {"lat": lat.to_numpy()[idx], "lon": lon.to_numpy()[idx], "iso3": codes.to_numpy(dtype=object)[idx]}
    )
    keys, distinct = pd.factorize(pd.MultiIndex.from_frame(triples))
    distinct = list(distinct)
    if len(_NEAR) > _MEMO_MAX:
        _NEAR.clear()
    ref = t.reference.fingerprint()
    todo = [(la, lo, c) for la, lo, c in distinct if (ref, la, lo, c) not in _NEAR]
    if todo:
        la, lo, c = (np.array(v) for v in zip(*todo, strict=True))
        found = points_near_countries(la.astype(float), lo.astype(float), c.astype(object), t.reference)
        _NEAR.update({(ref, *triple): bool(f) for triple, f in zip(todo, found, strict=True)})
    near = np.array([_NEAR[(ref, la, lo, c)] for la, lo, c in distinct], dtype=bool)[keys]
    far = np.zeros(len(t.frame), dtype=bool)
    far[idx[~near]] = True
    t.report(
        far,
        "lat,lon",
        _PerRow(codes, lambda v: f"point is more than {SPATIAL_TOLERANCE_KM:.0f} km outside {v}"),
    )


#: Every check an events table goes through, in order; each is a function of the table under check.
CHECKS = (
    strip_bidi_controls,
    normalise_cells,
    check_required,
    check_lengths,
    check_ids,
    check_categories,
    check_dates,
    check_inference_flags,
    check_numbers,
    check_codes,
    check_articles,
    check_geography,
)


def _unknown_items(cell: str, known, what: str) -> str:
    bad = [item for item in split_list(cell) if item not in known]
    return f"unknown {what} {', '.join(_show(b) for b in bad)}" if bad else ""


class _Coded:
    """A reason per row worked out once per distinct value: "" where the value is fine."""

    def __init__(self, codes: np.ndarray, reasons: list[str]) -> None:
        self.codes, self.reasons = codes, reasons
        failing = np.array([r != "" for r in reasons], dtype=bool)
        self.mask = failing[codes] if len(reasons) else np.zeros(len(codes), dtype=bool)

    @classmethod
    def of(cls, values: pd.Series, word) -> _Coded:
        codes, uniques = _factorize(values)
        return cls(codes, [word(v) for v in uniques])

    def at(self, i: int) -> str:
        return self.reasons[self.codes[i]]


def _factorize(values: pd.Series) -> tuple[np.ndarray, list]:
    """Codes and the distinct values as a Python list (iterating an Arrow array one element at a
    time is slow)."""
    codes, uniques = pd.factorize(values)
    return codes, np.asarray(uniques, dtype=object).tolist()


#: Dates parsed so far, shared by every batch (a table holds a few thousand distinct dates).
_DATES: dict[str, tuple[float | None, float | None, str]] = {}
_MEMO_MAX = 200_000


def _parse_dates(values: pd.Series) -> tuple[np.ndarray, np.ndarray, _Coded]:
    """Lower and upper bounds (as YYYYMMDD numbers, NaN if none) of ISO dates, and a reason
    where invalid; each distinct date parsed once."""
    codes, uniques = _factorize(values)
    if len(_DATES) > _MEMO_MAX:
        _DATES.clear()
    parsed = [_DATES.get(v) or _DATES.setdefault(v, _parse_date(v)) for v in uniques]
    lo = np.array([np.nan if p[0] is None else p[0] for p in parsed], dtype=float)
    hi = np.array([np.nan if p[1] is None else p[1] for p in parsed], dtype=float)
    empty = np.zeros(0, dtype=float)
    return (
        lo[codes] if len(parsed) else empty,
        hi[codes] if len(parsed) else empty,
        _Coded(codes, [p[2] for p in parsed]),
    )


def _parse_date(value: str) -> tuple[float | None, float | None, str]:
    if value == "":
        return None, None, ""
    m = schema.DATE_RE.match(value)
    if not m:
        return None, None, f"{_show(value)} is not an ISO date (YYYY, YYYY-MM or YYYY-MM-DD)"
    year = int(m["y"])
    if m["m"] is None:
        return year * 10000 + 101, year * 10000 + 1231, ""
    month = int(m["m"])
    if not 1 <= month <= 12:
        return None, None, f"{_show(value)} has month {month:02d}; months run 01-12"
    last = calendar.monthrange(year, month)[1]
    if m["d"] is None:
        return year * 10000 + month * 100 + 1, year * 10000 + month * 100 + last, ""
    day = int(m["d"])
    if not 1 <= day <= last:
        return None, None, f"{_show(value)}: day {day:02d} does not exist in that month"
    stamp = year * 10000 + month * 100 + day
    return stamp, stamp, ""


def _to_numbers(values: pd.Series) -> np.ndarray:
    """pandas' reading of each distinct cell as a number (NaN for "" and for non-numbers)."""
    codes, uniques = _factorize(values)
    distinct = pd.Series(uniques, dtype=object)
    numbers = pd.to_numeric(distinct.where(distinct != ""), errors="coerce").astype(float).to_numpy()
    return numbers[codes] if len(distinct) else np.zeros(0, dtype=float)


def _map_distinct(values: pd.Series, func) -> pd.Series:
    """`func` of each cell, worked out once per distinct cell; text in, text out."""
    codes, uniques = _factorize(values)
    mapped = np.array([func(v) for v in uniques] or [""], dtype=object)
    return pd.Series(mapped[codes] if len(codes) else [], index=values.index, dtype="str")


def _restore_neutralised_column(values: pd.Series) -> pd.Series:
    """`restore_neutralised` for a whole column, touching only the cells that need it."""
    hit = values.str.startswith("'").to_numpy(dtype=bool)  # Arrow's kernel finds the candidates
    if not hit.any():
        return values
    where = np.flatnonzero(hit)
    candidates = values.iloc[where]
    marked = np.array([NEUTRALISED_RE.match(v) is not None for v in candidates], dtype=bool)
    if not marked.any():
        return values
    out = values.to_numpy(dtype=object).copy()
    out[where[marked]] = [v[1:] for v in candidates[marked]]
    return pd.Series(out, index=values.index, dtype="str")


#: Every character Python's `str.strip()` removes: Arrow trims exactly these, in its kernel.
_WHITESPACE = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())


def _strip(values: pd.Series) -> pd.Series:
    """`str.strip()` of every cell of a `str` column, done by Arrow with Python's whitespace."""
    return values.str.strip(_WHITESPACE)


class _PerRow:
    """A problem's reason worded from each failing row's own cell, built only for those rows."""

    def __init__(self, values: pd.Series, word) -> None:
        self.values, self.word = values, word

    def at(self, i: int) -> str:
        return self.word(self.values.iloc[i])


def _show(value: str, limit: int = 40) -> str:
    """Quote a bad value for a message, shortened so a 5,000-character cell stays readable."""
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(text)


def load_sources(source: Path | str = DEFAULT_SOURCES) -> tuple[pd.DataFrame, tuple[Problem, ...]]:
    """Read `sources.csv`: one row per article; problems named like the events'."""
    path = Path(source)
    name = path.name
    try:
        text, problems = decode(path.read_bytes(), name)
    except OSError as exc:
        return pd.DataFrame(columns=list(schema.SOURCE_COLUMNS)), (
            Problem(name, 0, "-", f"cannot read file: {exc}"),
        )
    parsed = read_rows(text, name)
    header, lines, records, parse_problems = parsed.header, parsed.lines, parsed.records, parsed.problems
    problems += parse_problems
    missing = [c for c in schema.SOURCE_COLUMNS if c not in header]
    if missing:
        problems.append(Problem(name, 1, ",".join(missing), "required column missing"))
        return pd.DataFrame(columns=list(schema.SOURCE_COLUMNS)), tuple(problems)
    rows = []
    for line, rec in zip(lines, records, strict=True):
        if len(rec) != len(header):
            problems.append(Problem(name, line, "-", f"expected {len(header)} fields, found {len(rec)}"))
            continue
        row = dict(zip(header, rec, strict=True))
        if not re.fullmatch(r"[0-9]{1,5}", row["article"].strip()):
            problems.append(Problem(name, line, "article", f"{_show(row['article'])} is not a whole number"))
            continue
        row["article"] = int(row["article"])
        rows.append(row)
    frame = pd.DataFrame(rows, columns=header)
    dup = frame["article"].duplicated()
    for line, is_dup in zip(lines, dup, strict=False):
        if is_dup:
            problems.append(Problem(name, line, "article", "article number used twice"))
    frame = frame[~dup].sort_values("article").reset_index(drop=True)
    return frame, tuple(problems)
