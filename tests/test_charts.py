"""Charts: the tables behind the Altair specs, and specs that compile."""

from __future__ import annotations

from dashboard.charts import events_per_year, figures_charts, figures_table, timeline_chart
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
