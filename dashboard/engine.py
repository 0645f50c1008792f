"""The query seam: one DuckDB connection over one enriched events table, of any size.

Every page asks its questions here (which rows match the filters, how many per place, per
year, per arc; one page of the Data table; a download in batches) and gets back small frames;
the pure functions in `aggregate.py`, `layers.py` and `charts.py` then work on those. The same
SQL serves 94 rows held in memory and 10 million held in a Parquet file: only where the table
lives differs (`from_frame` registers an Arrow copy of the frame, `from_parquet` scans the file
in place, so the rows are never all in memory).

Safety: the SQL text is always a constant of this code base; every value (a filter's codes, a
search word, a limit) goes in as a bound parameter. The connection is in-memory, never writes,
may read only the one Parquet file it was opened on (`allowed_paths`), and its configuration is
locked, so no query can widen that.

`_row` is each event's position in the table (the dataset's date order): results are ordered by
it, so every reader sees the rows in the order the frame has them, and a frame-backed engine
hands back the frame's own rows (`rows`), with their exact types.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dashboard.geo import VIEWS_ORDER_SQL

#: The relation every query reads; `_row` is the event's position in the table.
EVENTS = "events"
ROW = "_row"
#: Rows per batch when a download streams from the engine.
BATCH_ROWS = 50_000
#: Answers an engine remembers, the least recently asked forgotten first: counts are a number
#: each; query results are small frames (at most a few MB at 10M rows), so fewer of them.
COUNTS_KEPT = 1000
RESULTS_KEPT = 32
#: DuckDB's own threads: the machine has two cores and Streamlit serves other sessions too.
THREADS = 2
#: DuckDB's memory ceiling for one table's queries (it spills or fails beyond it, never grows).
MEMORY_LIMIT = "512MB"


class Engine:
    """One enriched events table behind a read-only DuckDB connection.

    Build it with `from_frame` or `from_parquet`; ask with `table` / `frame` (SQL constants over
    the `events` relation, values as `?` parameters), `rows` (the matching events as the
    dataset's own frame), `count`, `batches`.
    """

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        columns: tuple[str, ...],
        *,
        frame: pd.DataFrame | None = None,
        schema: pa.Schema | None = None,
        source: str = "",
        keep: object = None,
    ):
        self._connection = connection
        # What must stay alive while this engine reads (a pinned file: `dataset._Pinned`).
        self._keep = keep
        self.columns = columns
        # Held weakly: the engine is shared per frame (`of_frame`) and must not keep it alive.
        self._frame = weakref.ref(frame) if frame is not None else None
        self._schema = schema
        self.source = source
        self._memo: dict = {}
        self._counts = _Recent(COUNTS_KEPT)
        self._results = _Recent(RESULTS_KEPT)
        self._lock = threading.Lock()
        self._date_order: bool | None = None

    # ----- opening ---------------------------------------------------------------------------
    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Engine:
        """An engine over a frame held in memory (a small table): an Arrow copy is registered."""
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.append_column(ROW, pa.array(np.arange(len(frame), dtype=np.int64)))
        connection = _connect(allowed=[])
        connection.register(EVENTS, table)
        _lock(connection)
        return cls(connection, tuple(str(c) for c in frame.columns), frame=frame, source="memory")

    @classmethod
    def from_parquet(cls, path: Path | str, keep: object = None) -> Engine:
        """An engine over a Parquet file, scanned in place: its rows are never all in memory.

        `keep` is held as long as the engine (the open file behind a `/proc/self/fd` path);
        such a path is used as it is, never resolved to the name the file had."""
        path = str(Path(path) if Path(path).is_absolute() else Path(path).resolve())
        schema = pq.read_schema(path)
        connection = _connect(allowed=[path])
        # The relation API takes the path as a value: no SQL is built from it.
        relation = connection.read_parquet(path, file_row_number=True)
        relation.project(f'* EXCLUDE (file_row_number), file_row_number AS "{ROW}"').create_view(EVENTS)
        _lock(connection)
        columns = tuple(n for n in schema.names if not n.startswith("__"))
        return cls(connection, columns, schema=schema, source=path, keep=keep)

    @property
    def frame(self) -> pd.DataFrame | None:
        """The frame this engine was opened on (None for a Parquet file)."""
        if self._frame is None:
            return None
        frame = self._frame()
        if frame is None:
            raise RuntimeError("the frame this engine was opened on is gone")
        return frame

    # ----- asking ----------------------------------------------------------------------------
    def table(self, sql: str, params: Sequence = ()) -> pa.Table:
        """The result of a constant SQL text with bound parameters, as Arrow."""
        if self._frame is None:
            # A Parquet file: a cursor per query, so sessions query it side by side.
            cursor = self._connection.cursor()
            try:
                return cursor.sql(sql, params=list(params)).to_arrow_table()
            finally:
                cursor.close()
        # A frame is registered on this connection only (a cursor cannot see it): one at a time.
        with self._lock:
            return self._connection.sql(sql, params=list(params)).to_arrow_table()

    def frame_of(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        """The result as a pandas frame: for small results (aggregates, a page)."""
        return self._to_pandas(self.table(sql, params))

    def scalar(self, sql: str, params: Sequence = ()):
        column = self.table(sql, params).column(0)
        return column[0].as_py() if len(column) else None

    def count(self, where: str = "TRUE", params: Sequence = ()) -> int:
        """How many events match a WHERE clause."""
        return int(self.scalar(f"SELECT count(*) FROM {EVENTS} WHERE {where}", params))

    @property
    def total(self) -> int:
        if "total" not in self._memo:
            self._memo["total"] = self.count()
        return self._memo["total"]

    def positions(
        self, where: str = "TRUE", params: Sequence = (), limit: int | None = None, offset: int = 0
    ) -> np.ndarray:
        """The positions (`_row`) of the matching events, in table order."""
        sql, args = f"SELECT {ROW} FROM {EVENTS} WHERE {where} ORDER BY {ROW}", list(params)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [int(limit), int(offset)]
        return self.table(sql, args).column(0).to_numpy()

    def rows(
        self,
        where: str = "TRUE",
        params: Sequence = (),
        *,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> pd.DataFrame:
        """The matching events, in table order, as the dataset's frame would hold them.

        A frame-backed engine returns the frame's own rows (same index, same types); a Parquet
        one reads just these rows and columns, typed as the file's pandas metadata says.
        """
        if self.frame is not None:
            picked = self.positions(where, params, limit, offset)
            frame = self.frame if columns is None else self.frame[list(columns)]
            return frame if len(picked) == len(frame) else frame.iloc[picked]
        if limit is not None and self._order():
            # A page of a file not in the views' order: the page's positions first, sorting
            # only the key's two columns, then those rows read whole. A top-N over every wide
            # column would read them for every matching row (1.2-3.4 s against 0.6-1.3 s for a
            # page of 1,000 rows among 2M at 10M).
            page = self.table(
                f"SELECT {ROW} FROM {EVENTS} WHERE {where}{self._order()} LIMIT ? OFFSET ?",
                [*params, int(limit), int(offset)],
            )
            order = page.column(0).to_numpy()
            fetched = self.fetch_rows(order, list(columns or self.columns))
            return fetched.set_index(ROW).loc[order].reset_index(drop=True)
        wanted = ", ".join(_quote(c) for c in (columns or self.columns))
        sql, args = f"SELECT {wanted} FROM {EVENTS} WHERE {where}{self._order()}", list(params)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [int(limit), int(offset)]
        return self.frame_of(sql, args)

    def batches(
        self,
        where: str = "TRUE",
        params: Sequence = (),
        *,
        columns: Sequence[str] | None = None,
        size: int = BATCH_ROWS,
    ) -> Iterator[pd.DataFrame]:
        """The matching events in batches of `size`, in table order: a download never holds them all."""
        if self.frame is not None:
            picked = self.positions(where, params)
            frame = self.frame if columns is None else self.frame[list(columns)]
            for start in range(0, len(picked), size):
                yield frame.iloc[picked[start : start + size]]
            return
        wanted = ", ".join(_quote(c) for c in (columns or self.columns))
        sql = f"SELECT {wanted} FROM {EVENTS} WHERE {where}{self._order()}"  # as in `rows`
        # A cursor of its own: the batches are read while other queries run.
        cursor = self._connection.cursor()
        try:
            reader = cursor.sql(sql, params=list(params)).to_arrow_reader(size)
            for batch in reader:
                if batch.num_rows:
                    yield self._to_pandas(pa.Table.from_batches([batch]))
        finally:
            cursor.close()

    def distinct(self, column: str) -> tuple:
        """The distinct non-null values of a column (list cells are few even in 10M rows); memoised."""
        key = ("distinct", column)
        if key not in self._memo:
            if column not in self.columns:
                raise ValueError(f"column {column!r} is not in the events table")
            sql = f"SELECT DISTINCT {_quote(column)} FROM {EVENTS} WHERE {_quote(column)} IS NOT NULL"
            self._memo[key] = tuple(self.table(sql).column(0).to_pylist())
        return self._memo[key]

    def fetch_rows(self, positions: Sequence[int], columns: Sequence[str]) -> pd.DataFrame:
        """A few events by position (`_row`), with `_row`: the payload of aggregates' top rows.

        The range of the positions goes in as a filter too, so a Parquet scan skips the row
        groups outside it.
        """
        positions = sorted({int(p) for p in positions})
        if not positions:
            return self.frame_of(f"SELECT {ROW}, {', '.join(map(_quote, columns))} FROM {EVENTS} LIMIT 0")
        sql = (
            f"SELECT {ROW}, {', '.join(map(_quote, columns))} FROM {EVENTS} "
            f"WHERE {ROW} BETWEEN ? AND ? AND {ROW} IN (SELECT unnest(?::BIGINT[]))"
        )
        return self.frame_of(sql, [positions[0], positions[-1], positions])

    def _order(self) -> str:
        """The ORDER BY that lists a Parquet file's rows in the views' order: none when the file
        is in that order already (DuckDB's scan keeps the file's order, so a page stops reading
        once it has its rows), else the views' sort key (a page is then a top-N, an export a
        sort spilled to disk)."""
        return "" if self.in_date_order() else f" ORDER BY {VIEWS_ORDER_SQL}"

    def in_date_order(self) -> bool:
        """Whether the rows are in the dataset's order (`geo.enrich`: by date, undated last, then
        by event id), checked once by streaming the two columns. Aggregates then pick a group's
        earliest events by position, a cheap integer key, instead of comparing text."""
        if self._date_order is None:
            self._date_order = self._check_date_order()
        return self._date_order

    def _check_date_order(self) -> bool:
        if not {"date_start", "event_id"} <= set(self.columns):
            return False
        previous: tuple | None = None
        sql = f"SELECT date_start::VARCHAR, event_id::VARCHAR FROM {EVENTS}"
        # A frame's table is registered on this connection only (a cursor cannot see it): read
        # it under the lock; a Parquet file through a cursor of its own.
        cursor = self._connection.cursor() if self._frame is None else None
        try:
            if cursor is None:
                with self._lock:
                    batches = self._connection.sql(sql).to_arrow_table().to_batches()
            else:
                batches = cursor.sql(sql).to_arrow_reader(BATCH_ROWS * 20)
            for batch in batches:
                dates, ids = batch.column(0), batch.column(1)
                if ids.null_count:
                    return False
                undated = pc.fill_null(pc.equal(dates, ""), True)
                when = pc.if_else(undated, pa.scalar("~", dates.type), dates)
                if previous is not None:
                    when = pa.concat_arrays([pa.array([previous[0]], when.type), when])
                    ids = pa.concat_arrays([pa.array([previous[1]], ids.type), ids])
                if len(ids) > 1:
                    a, b, ia, ib = when[1:], when[:-1], ids[1:], ids[:-1]
                    bad = pc.or_(pc.less(a, b), pc.and_(pc.equal(a, b), pc.less_equal(ia, ib)))
                    if pc.any(bad).as_py():
                        return False
                previous = (when[-1].as_py(), ids[-1].as_py())
        finally:
            if cursor is not None:
                cursor.close()
        return True

    def close(self) -> None:
        self._connection.close()

    # ----- types -----------------------------------------------------------------------------
    def _to_pandas(self, table: pa.Table) -> pd.DataFrame:
        """Arrow to pandas; from a Parquet file, typed as `pd.read_parquet` of the file types it."""
        if self._schema is not None:
            # The file's own column types and pandas metadata (Int64, bool, str), so a page
            # read from the engine holds what the dataset's frame would. Only for a column
            # that holds the file's column: an aggregate's alias (a count `n`, a list `head`)
            # may share the name of an extra column, which the loader keeps whatever its name.
            held = [_holds(f, self._schema) for f in table.schema]
            pairs = list(zip(table.schema, held, strict=True))
            fields = [self._schema.field(f.name) if h else f for f, h in pairs]
            aliases = {f.name for f, h in pairs if not h and f.name in self._schema.names}
            table = table.cast(pa.schema(fields)).replace_schema_metadata(
                _pandas_metadata(self._schema.metadata, aliases)
            )
        return table.to_pandas()


def _holds(field: pa.Field, schema: pa.Schema) -> bool:
    """Whether a result's column is the file's column of that name, as DuckDB reads it back:
    the same type, or text for text (DuckDB hands back `string` for the file's `large_string`)."""
    if field.name not in schema.names:
        return False
    kept = schema.field(field.name).type
    if pa.types.is_dictionary(kept):  # a pandas category: DuckDB reads back its values
        kept = kept.value_type
    return field.type == kept or (_is_text(field.type) and _is_text(kept))


def _pandas_metadata(metadata: dict | None, aliases: set[str]) -> dict | None:
    """The file's pandas metadata without what it says of `aliases` (pandas would retype them)."""
    if not metadata or b"pandas" not in metadata or not aliases:
        return metadata
    pandas_meta = json.loads(metadata[b"pandas"])
    pandas_meta["columns"] = [c for c in pandas_meta.get("columns", []) if c.get("name") not in aliases]
    return {**metadata, b"pandas": json.dumps(pandas_meta).encode()}


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


class _Recent:
    """A small memo that forgets the least recently used entry beyond `size` (thread-safe)."""

    def __init__(self, size: int):
        self._size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key, value):
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


def _connect(allowed: list[str]) -> duckdb.DuckDBPyConnection:
    config = {"threads": THREADS, "memory_limit": MEMORY_LIMIT, "preserve_insertion_order": True}
    connection = duckdb.connect(":memory:", config=config)
    connection.execute("SET allowed_paths = ?", [allowed])
    return connection


def _lock(connection: duckdb.DuckDBPyConnection) -> None:
    """No file access beyond the allowed paths, and no query may change that."""
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")


def _quote(name: str) -> str:
    """An identifier, quoted: column names come from the table's schema, never from a user."""
    return '"' + str(name).replace('"', '""') + '"'


#: Engines opened on frames, by the frame's id, dropped when the frame is (weakref.finalize).
_FRAME_ENGINES: dict[int, Engine] = {}
_FRAME_LOCK = threading.Lock()


def of_frame(frame: pd.DataFrame) -> Engine:
    """The engine over a frame, opened once per frame object: a dataset's frame is registered
    once however many pages, filters and aggregates read it. Frames are never changed in place."""
    key = id(frame)
    with _FRAME_LOCK:
        engine = _FRAME_ENGINES.get(key)
        if engine is not None and engine._frame() is frame:
            return engine
        engine = Engine.from_frame(frame)
        _FRAME_ENGINES[key] = engine
        weakref.finalize(frame, _forget, key, engine)
        return engine


def _forget(key: int, engine: Engine) -> None:
    with _FRAME_LOCK:
        if _FRAME_ENGINES.get(key) is engine:
            del _FRAME_ENGINES[key]
    engine.close()


def for_dataset(dataset) -> Engine:
    """The engine of a dataset, opened once: over its Parquet file when it has one (a large
    table), else over its frame in memory."""
    memo = dataset._memo
    if "engine" not in memo:
        parquet = getattr(dataset, "parquet", None)
        memo["engine"] = (
            Engine.from_parquet(parquet, keep=getattr(dataset, "_pin", None))
            if parquet
            else of_frame(dataset.events)
        )
    return memo["engine"]


@dataclass(frozen=True, eq=False)
class Selection:
    """The events a WHERE clause picks from an engine's table: what a page works on.

    Aggregates ask it `query(sql)`, where `sql` reads the selected events as the relation `sel`
    (a CTE the clause defines, so the clause's parameters come first, then the query's own).
    """

    engine: Engine
    where: str = "TRUE"
    params: tuple = ()

    @classmethod
    def of(cls, events: pd.DataFrame | Selection) -> Selection:
        """A selection as is, or every row of a frame (an engine opened on it for the call)."""
        return events if isinstance(events, Selection) else cls(of_frame(events))

    def narrowed(self, clause: str, params: Sequence = ()) -> Selection:
        """The selected events that also match `clause` (a constant with `?` parameters)."""
        return Selection(self.engine, f"({self.where}) AND ({clause})", (*self.params, *params))

    def query(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        """A small result: `sql` reads `sel`, the selected events.

        Remembered per engine (a rerun, another page or another session with the same filters
        asks again); the caller gets its own copy to change.
        """
        head = f"WITH sel AS (SELECT * FROM {EVENTS} WHERE {self.where}) "
        args = (*self.params, *params)
        key = (head + sql, repr(args))
        found = self.engine._results.get(key)
        if found is None:
            found = self.engine._results.put(key, self.engine.frame_of(head + sql, args))
        return found.copy()

    def count(self) -> int:
        key = (self.where, repr(self.params))
        found = self.engine._counts.get(key)
        if found is None:
            found = self.engine._counts.put(key, self.engine.count(self.where, self.params))
        return found

    @property
    def empty(self) -> bool:
        return self.count() == 0

    def rows(self, columns: Sequence[str] | None = None, limit: int | None = None, offset: int = 0):
        return self.engine.rows(self.where, self.params, columns=columns, limit=limit, offset=offset)

    def batches(self, columns: Sequence[str] | None = None, size: int = BATCH_ROWS):
        return self.engine.batches(self.where, self.params, columns=columns, size=size)
