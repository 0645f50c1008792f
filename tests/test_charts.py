"""Charts: the tables behind the Altair specs, and specs that compile."""

from __future__ import annotations

from dashboard.charts import (
    context_chart,
    events_per_month,
    events_per_year,
    figures_charts,
    figures_table,
    months_chart,
    timeline_chart,
    timeline_span,
)
from dashboard.filters import FilterState
from tests.conftest import enriched, figure_row, row


def frame(ref):
    return enriched(
        [
            row(event_id="a"),
            row(event_id="b", category="meeting"),
            row(event_id="c", date_start="", date_end=""),
            figure_row("t1", "2007", "1900000000", "USD"),
            figure_row("t2", "2017", "35", "percent", participants="RUS", organisations="ASEAN"),
        ],
        ref,
    )


def test_events_per_year_skips_undated(tiny_ref):
    table = events_per_year(frame(tiny_ref))
    assert table.values.tolist() == [
        [2007, "trade", 1],
        [2017, "trade", 1],
        [2018, "meeting", 1],
        [2018, "summit", 1],
    ]


def test_figures_table_names_series_and_keeps_units_apart(tiny_ref):
    table = figures_table(frame(tiny_ref), tiny_ref.country_names)
    assert table[["year", "series", "label"]].values.tolist() == [
        [2007, "Russia–Singapore trade (USD)", "USD 1.9 billion"],
        [2017, "Russia–ASEAN trade (percent)", "35 percent"],
    ]


def test_specs_compile(tiny_ref):
    f = frame(tiny_ref)
    assert timeline_chart(f).to_dict()["mark"]["type"] == "bar"
    # The tiny frame states each unit for one year only: no trend, so no chart.
    assert figures_charts(f, tiny_ref.country_names) == []
    more = enriched(
        [
            figure_row("u1", "2007", "1900000000", "USD"),
            figure_row("u2", "2017", "7400000000", "USD"),
            figure_row("p1", "2017", "35", "percent"),
        ],
        tiny_ref,
    )
    charts = figures_charts(more, tiny_ref.country_names)
    assert [c.to_dict()["title"] for c in charts] == ["Stated figures in USD"]
    assert timeline_chart(f.iloc[0:0]).to_dict()


def history(ref):
    """Old context far apart, then a dense recent decade; one 2010-2020 span; kinds differ by era."""
    old = [row(event_id=f"old{y}", category="context", date_start=str(y), date_end="") for y in (1904, 1968)]
    recent = [
        row(event_id=f"s{i}", category="summit", date_start=f"{2018 + i % 2}-0{1 + i % 9}", date_end="")
        for i in range(12)
    ]
    span = row(event_id="bogor", category="agreement", date_start="2010", date_end="2020")
    year_only = row(event_id="y2018", category="meeting", date_start="2018", date_end="")
    return enriched([*old, *recent, span, year_only], ref)


def test_timeline_opens_on_the_busy_span_and_counts_the_rest_apart(tiny_ref):
    # 13 of the 16 dated events began in 2018-2019: the chart opens there, the rest apart.
    span = timeline_span(history(tiny_ref))
    assert (span.lo, span.hi) == (2018, 2019)
    assert (span.earlier, span.earlier_span, span.later, span.later_span) == (3, (1904, 2010), 0, None)


def test_timeline_within_a_short_years_filter_draws_it_whole(tiny_ref):
    events = history(tiny_ref)
    rows = FilterState(years=(2018, 2019)).apply(events)
    span = timeline_span(rows, (2018, 2019))
    # The 2010-2020 span is kept by the filter; it began earlier, so it is counted apart.
    assert (span.lo, span.hi, span.earlier, span.earlier_span) == (2018, 2019, 1, (2010, 2010))
    assert timeline_span(events.iloc[0:0]) is None


def _domain(chart) -> list[str]:
    return chart.to_dict()["encoding"]["color"]["scale"]["domain"]


def test_legends_list_only_the_kinds_drawn(tiny_ref):
    events = history(tiny_ref)
    assert _domain(timeline_chart(events)) == ["summit", "meeting", "agreement", "context"]
    # Within the window the old context rows are not drawn, so not in the legend either.
    assert _domain(timeline_chart(events, (2010, 2019))) == ["summit", "meeting", "agreement"]
    assert _domain(context_chart(events, (1904, 1968), "Earlier")) == ["context"]
    assert _domain(months_chart(events, (2018, 2019))) == ["summit"]


def test_timeline_bars_are_one_band_per_year_of_the_window(tiny_ref):
    spec = timeline_chart(history(tiny_ref), (2016, 2019)).to_dict()
    assert spec["encoding"]["x"]["type"] == "ordinal"
    assert spec["encoding"]["x"]["scale"]["domain"] == [2016, 2017, 2018, 2019]


def test_months_leave_out_what_the_text_dates_to_the_year_only(tiny_ref):
    table = events_per_month(history(tiny_ref))
    assert "y2018" not in table.to_string() and table["events"].sum() == 12
    assert table["month"].is_monotonic_increasing and table["month"].iloc[0] == "2018-01"
    spec = months_chart(history(tiny_ref), (2018, 2019)).to_dict()
    assert spec["encoding"]["x"]["scale"]["domain"][0] == "2018-01"
    assert len(spec["encoding"]["x"]["scale"]["domain"]) == 24
