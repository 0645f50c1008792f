"""The engine: filters as SQL give exactly the rows the pandas reading gives, on the real table and
hand-made frames; a Parquet-backed engine answers as a frame-backed one; nothing beyond its one
file can be read, and values never become SQL."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import search
from dashboard.dataset import load_dataset
from dashboard.engine import Engine, for_dataset
from dashboard.filters import FilterState
from dashboard.lists import cells_holding
from dashboard.schema import CATEGORIES, INFERENCE_FLAGS
from tests.conftest import enriched, row


def oracle(events: pd.DataFrame, state: FilterState) -> pd.DataFrame:
    """The filters as pandas reads them (the definitions before the engine): the test's reference."""
    mask = np.ones(len(events), dtype=bool)
    if state.categories:
        mask &= events["category"].isin(state.categories).to_numpy(dtype=bool)
    if state.years:
        lo, hi = state.years
        start, end = events["year_start"], events["year_end"]
        mask &= (start.notna() & (start <= hi).fillna(False) & (end >= lo).fillna(False)).to_numpy(dtype=bool)
    if state.countries:
        held = events["country_iso3"].isin(state.countries) | cells_holding(
            events["participants"], state.countries
        )
        mask &= held.to_numpy(dtype=bool)
    if state.orgs:
        mask &= cells_holding(events["organisations"], state.orgs).to_numpy(dtype=bool)
    if state.articles:
        mask &= events["article"].isin(state.articles).fillna(False).to_numpy(dtype=bool)
    if state.stated:
        for flag in INFERENCE_FLAGS:
            mask &= ~events[flag].fillna(False).to_numpy(dtype=bool)
    if state.q:
        mask &= search.matches(events["search_text"], state.q)
    return events[mask]


@pytest.fixture(scope="module")
def shipped():
    return load_dataset()


@pytest.fixture(scope="module")
def parquet_engine(shipped, tmp_path_factory):
    path = tmp_path_factory.mktemp("engine") / "events.parquet"
    shipped.events.to_parquet(path, index=False)
    return Engine.from_parquet(path)


REAL_STATES = [
    FilterState(),
    FilterState(categories=("summit",)),
    FilterState(categories=("trade", "investment")),
    FilterState(years=(2010, 2019)),
    FilterState(years=(2018, 2018)),
    FilterState(countries=("PRK",)),
    FilterState(countries=("CHN", "USA")),
    FilterState(countries=("RUS",)),
    FilterState(orgs=("ASEAN",)),
    FilterState(orgs=("BRICS", "SCO", "EAEU")),
    FilterState(articles=(1,)),
    FilterState(articles=(2, 4)),
    FilterState(stated=True),
    FilterState(q="putin kim"),
    FilterState(q="North Korea"),
    FilterState(q="russia–africa"),
    FilterState(q="dprk vladivostok"),
    FilterState(q="café"),
    FilterState(categories=("meeting", "summit"), years=(2000, 2015), stated=True, q="president"),
]


@pytest.mark.parametrize("state", REAL_STATES, ids=lambda s: str(s.to_query_params()) or "all")
def test_sql_filters_give_the_pandas_rows_on_the_real_table(shipped, parquet_engine, state):
    expected = oracle(shipped.events, state)
    engine = for_dataset(shipped)
    got = state.apply(shipped.events, engine)
    assert list(got["event_id"]) == list(expected["event_id"])
    # The same clauses over the Parquet file pick the same events in the same order.
    assert list(parquet_engine.rows(*state.where(parquet_engine))["event_id"]) == list(expected["event_id"])
    assert engine.count(*state.where(engine)) == len(expected)


CODES = ["RUS", "PRK", "SGP", "ZAF"]
WORDS = ["talks", "summit", "pyongyang", "korea", "africa", "brics", "dprk", "x", "Ünïcode", "ta"]


@st.composite
def frames_and_states(draw):
    """A few hand-made rows with odd list cells and text, and a state over them."""
    n = draw(st.integers(1, 6))
    rows = []
    for i in range(n):
        parts = draw(st.lists(st.sampled_from(CODES), max_size=3))
        orgs = draw(st.lists(st.sampled_from(["ASEAN", "BRICS", "REC"]), max_size=2))
        year = draw(st.sampled_from(["", "2005", "2018", "2019"]))
        rows.append(
            row(
                event_id=f"e{i}",
                category=draw(st.sampled_from(CATEGORIES)),
                title=" ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4))),
                participants=";".join(parts),
                organisations=";".join(orgs),
                date_start=year,
                date_end="",
                date_inferred=draw(st.sampled_from(["true", "false"])),
                date_inference_note="inferred for the test",
                article=str(draw(st.integers(1, 4))),
            )
        )
    state = FilterState(
        categories=tuple(draw(st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True))),
        years=draw(st.sampled_from([None, (2005, 2005), (2010, 2019), (2019, 2019)])),
        countries=tuple(draw(st.lists(st.sampled_from(CODES), max_size=2, unique=True))),
        orgs=tuple(draw(st.lists(st.sampled_from(["ASEAN", "BRICS"]), max_size=2, unique=True))),
        articles=tuple(sorted(draw(st.lists(st.integers(1, 4), max_size=2, unique=True)))),
        stated=draw(st.booleans()),
        q=" ".join(draw(st.lists(st.sampled_from(WORDS), max_size=2))),
    )
    return rows, state


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames_and_states())
def test_sql_filters_give_the_pandas_rows_on_hand_made_frames(tiny_ref, drawn):
    rows, state = drawn
    frame = enriched(rows, tiny_ref)
    before = frame.copy()
    expected = oracle(frame, state)
    assert list(state.apply(frame)["event_id"]) == list(expected["event_id"])
    pd.testing.assert_frame_equal(frame, before)


def test_rows_pages_and_batches_keep_the_table_order(shipped, parquet_engine):
    engine = for_dataset(shipped)
    ids = list(shipped.events["event_id"])
    assert list(engine.rows(limit=10, offset=5)["event_id"]) == ids[5:15]
    assert list(parquet_engine.rows(limit=10, offset=5)["event_id"]) == ids[5:15]
    for eng in (engine, parquet_engine):
        batches = list(eng.batches(size=40))
        assert [len(b) for b in batches] == [40, 40, len(ids) - 80]
        assert list(pd.concat(batches)["event_id"]) == ids


def test_a_parquet_page_is_typed_as_the_frame(shipped, parquet_engine):
    page = parquet_engine.rows(limit=20)
    frame = shipped.events.head(20)
    assert list(page.columns) == list(frame.columns)
    for col in ("article", "year_start", "lat", "date_inferred"):
        assert page[col].dtype == frame[col].dtype, col
    assert page["title"].tolist() == frame["title"].tolist()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY (SELECT 1) TO '/tmp/summit-atlas-engine-test.csv'",
        "SET enable_external_access = true",
        "ATTACH '/tmp/summit-atlas-engine-test.db'",
    ],
)
def test_the_connection_reads_nothing_but_its_table(parquet_engine, sql):
    with pytest.raises(Exception, match=r"(?i)disabled|locked|permission"):
        parquet_engine.table(sql)


def test_values_are_parameters_not_sql(shipped):
    engine = for_dataset(shipped)
    hostile = FilterState(q="x') OR TRUE --", countries=("PRK'; DROP TABLE events; --",))
    clause, params = hostile.where(engine)
    assert "DROP" not in clause and "OR TRUE" not in clause
    assert engine.count(clause, params) == 0
    assert engine.total == len(shipped.events)


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_downloads_from_the_engine_are_the_bytes_of_the_frame(shipped, parquet_engine, fmt):
    from dashboard.export import FORMATS

    state = FilterState(categories=("summit", "meeting"))
    expected = FORMATS[fmt].write(state.apply(shipped.events), None)
    for engine in (for_dataset(shipped), parquet_engine):
        assert FORMATS[fmt].write(state.selection(engine), None) == expected


def test_aggregates_do_not_depend_on_the_table_order(shipped):
    """A table in the dataset's order takes the positional shortcut (`in_date_order`); a shuffled
    one compares dates and ids. Both give the same places, arcs and tooltips."""
    from dashboard.aggregate import flow_table, place_table

    events = shipped.events
    shuffled = events.sample(frac=1.0, random_state=7)
    assert for_dataset(shipped).in_date_order()
    assert not Engine.from_frame(shuffled).in_date_order()
    pd.testing.assert_frame_equal(place_table(events), place_table(shuffled))
    pd.testing.assert_frame_equal(
        flow_table(events, shipped.reference), flow_table(shuffled, shipped.reference)
    )


def test_aggregates_and_look_ups_over_parquet_match_the_frame(shipped, parquet_engine):
    from dashboard.aggregate import country_counts, events_at_place, events_on_arc, flow_table, place_table
    from dashboard.charts import events_per_month, events_per_year
    from dashboard.engine import Selection
    from dashboard.timespan import year_counts, years_present

    frame, sel = shipped.events, Selection(parquet_engine)
    pd.testing.assert_frame_equal(place_table(frame), place_table(sel))
    pd.testing.assert_series_equal(country_counts(frame), country_counts(sel))
    pd.testing.assert_frame_equal(flow_table(frame, shipped.reference), flow_table(sel, shipped.reference))
    assert year_counts(frame) == year_counts(sel) and years_present(frame) == years_present(sel)
    pd.testing.assert_frame_equal(events_per_year(frame), events_per_year(sel))
    pd.testing.assert_frame_equal(events_per_month(frame), events_per_month(sel))
    busiest = place_table(frame).iloc[0]
    at = events_at_place(sel, busiest["place"], [busiest["lon"], busiest["lat"]])
    assert at.count() == busiest["count"]
    assert list(at.rows()["event_id"]) == list(events_at_place(frame, busiest["place"])["event_id"])
    arc = flow_table(frame, shipped.reference).iloc[0]
    assert list(events_on_arc(sel, arc["kind"], arc["target"]).rows()["event_id"]) == list(
        events_on_arc(frame, arc["kind"], arc["target"])["event_id"]
    )


@pytest.mark.parametrize(("limit", "offset"), [(10, 0), (7, 31), (40, 90), (5, 500)])
@pytest.mark.parametrize("columns", [None, ["title", "value", "date_inferred"]], ids=["all", "some"])
def test_a_page_of_a_shuffled_parquet_file_is_the_frames_page(shipped, tmp_path, limit, offset, columns):
    """A file not in the views' order is paged in two steps (positions by the order key, then
    those rows): the same rows, order, columns and types as a page of the dataset's frame."""
    path = tmp_path / "shuffled.parquet"
    shuffled = shipped.events.sample(frac=1.0, random_state=3)
    shuffled.attrs = {}
    shuffled.to_parquet(path, index=False)
    engine = Engine.from_parquet(path)
    assert not engine.in_date_order()
    frame = shipped.events if columns is None else shipped.events[columns]
    page = engine.rows("category <> ?", ["nothing"], columns=columns, limit=limit, offset=offset)
    expected = frame.iloc[offset : offset + limit].reset_index(drop=True)
    assert list(page.columns) == list(columns or engine.columns)
    # Text may come back as `str` where the frame holds `object` (data.LOOPED_COLUMNS): values
    # compared; numbers, flags and counts keep their exact types.
    pd.testing.assert_frame_equal(page, expected[list(page.columns)], check_dtype=False)
    for col in {"value", "date_inferred", "article", "year_start"} & set(page.columns):
        assert page[col].dtype == expected[col].dtype, col


@pytest.mark.parametrize("shuffled", [False, True], ids=["in order", "shuffled"])
@pytest.mark.parametrize("extra", ["n", "head", "named_key", "first"])
def test_an_extra_column_named_as_a_querys_alias_keeps_the_querys_answer(tiny_ref, tmp_path, extra, shuffled):
    """The loader keeps extra columns of any name; a Parquet engine types a result's columns as
    the file's only where they hold the file's column, not an aggregate's alias of that name (a
    count `n` read back as the text of an extra column `n`, a `head` list cast to text)."""
    from dashboard.aggregate import flow_table, place_table
    from dashboard.data import load_events
    from dashboard.engine import Selection
    from dashboard.geo import enrich
    from dashboard.schema import EVENT_COLUMNS
    from tests.conftest import table_bytes

    rows = [row(event_id=f"e-{k}", **{extra: f"x{k}"}) for k in range(3)]
    csv = table_bytes(rows, columns=[*EVENT_COLUMNS, extra])
    loaded = load_events(csv, tiny_ref, {1, 2, 3, 4}, name="t.csv")
    assert loaded.extra_columns == (extra,)
    events = enrich(loaded.frame, tiny_ref)
    events.attrs = {}
    path = tmp_path / "events.parquet"
    (events.iloc[::-1] if shuffled else events).to_parquet(path, index=False)
    sel = Selection(Engine.from_parquet(path))
    pd.testing.assert_frame_equal(place_table(sel), place_table(events))
    pd.testing.assert_frame_equal(flow_table(sel, tiny_ref), flow_table(events, tiny_ref))
    page = Engine.from_parquet(path).rows(columns=["event_id", extra], limit=2, offset=1)
    assert page[extra].tolist() == ["x1", "x2"]


def test_pages_of_a_shuffled_file_match_the_frame_for_random_filters(shipped, tmp_path):
    """The two-step page (positions by the order key, then those rows) against the frame's page,
    for 50 random (filter, limit, offset, columns): past the end, a limit of 0, no match."""
    import random

    events = shipped.events
    path = tmp_path / "shuffled.parquet"
    shuffled = events.sample(frac=1.0, random_state=11)
    shuffled.attrs = {}
    shuffled.to_parquet(path, index=False)
    engine = Engine.from_parquet(path)
    assert not engine.in_date_order()
    rng, n = random.Random(5), len(events)
    kinds = sorted(events["category"].unique())
    for _ in range(50):
        state = FilterState(
            categories=tuple(rng.sample(kinds, rng.randint(0, 2))), q=rng.choice(["", "summit", "zzzz"])
        )
        limit = rng.choice([0, 1, 5, 37, n + 10])
        offset = rng.choice([0, 3, n // 2, n - 1, n + 5])
        columns = rng.choice([None, ["title", "value", "date_inferred"], ["event_id"], ["year_start", "lat"]])
        where, params = state.where(engine)
        matching = state.apply(events)
        expected = (matching if columns is None else matching[columns]).iloc[offset : offset + limit]
        page = engine.rows(where, params, columns=columns, limit=limit, offset=offset)
        assert list(page.columns) == list(columns or engine.columns)  # never `_row`
        pd.testing.assert_frame_equal(page, expected.reset_index(drop=True), check_dtype=False)
        for col in {"value", "date_inferred", "article", "year_start"} & set(page.columns):
            assert page[col].dtype == expected[col].dtype, col
    picked = engine.fetch_rows([5, 5, 2], ["event_id"])
    assert picked["_row"].tolist() == [2, 5]


@pytest.mark.parametrize("extra", [["_row"], ["_ROW"], ["Note", "note"], ["DATE_START"]])
def test_extra_columns_duckdb_cannot_tell_apart_are_refused_or_read_back(tiny_ref, tmp_path, extra):
    from dashboard.data import load_events
    from dashboard.geo import enrich
    from dashboard.schema import EVENT_COLUMNS
    from tests.conftest import table_bytes

    rows = [row(event_id=f"e-{k}", **{c: f"{c}{k}" for c in extra}) for k in range(3)]
    loaded = load_events(
        table_bytes(rows, columns=[*EVENT_COLUMNS, *extra]), tiny_ref, {1, 2, 3, 4}, name="t.csv"
    )
    kept = list(loaded.extra_columns)
    events = enrich(loaded.frame, tiny_ref)
    events.attrs = {}
    path = tmp_path / "events.parquet"
    events.iloc[::-1].to_parquet(path, index=False)  # not in order: pages in two steps
    page = Engine.from_parquet(path).rows(columns=["event_id", *kept], limit=2, offset=1)
    pd.testing.assert_frame_equal(page, events[["event_id", *kept]].iloc[1:3].reset_index(drop=True))
