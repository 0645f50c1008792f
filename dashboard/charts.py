"""Altair chart specs for the timeline page, built from a filtered, enriched events frame."""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from dashboard.formatting import format_value
from dashboard.lists import split_list
from dashboard.schema import CATEGORIES, CATEGORY_COLOURS, FIGURE_CATEGORIES


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def category_scale() -> alt.Scale:
    """The same category colours as the map markers."""
    return alt.Scale(domain=list(CATEGORIES), range=[_hex(CATEGORY_COLOURS[c]) for c in CATEGORIES])


def events_per_year(events: pd.DataFrame) -> pd.DataFrame:
    """Counts of dated events per start year and category."""
    dated = events.dropna(subset=["year_start"])
    if dated.empty:
        return pd.DataFrame(columns=["year", "category", "events"])
    table = dated.groupby(["year_start", "category"]).size().reset_index(name="events")
    table = table.rename(columns={"year_start": "year"})
    table["year"] = table["year"].astype(int)
    return table.sort_values(["year", "category"]).reset_index(drop=True)


def _year_domain(table: pd.DataFrame) -> list[int]:
    if table.empty:
        return [2000, 2020]
    return [int(table["year"].min()) - 1, int(table["year"].max()) + 1]


def _bar_width(table: pd.DataFrame) -> float:
    # Bars one year wide at about 650 px of plot: thin over a century, wide over a decade.
    lo, hi = _year_domain(table)
    return round(min(max(600 / (hi - lo), 2.0), 24.0), 1)


def timeline_chart(events: pd.DataFrame) -> alt.Chart:
    """Stacked bars: events per year, coloured by category."""
    table = events_per_year(events)
    # A true time axis: 1904 and 2018 are far apart, and an ordinal axis would hide that.
    return (
        alt.Chart(table, title="Events per year, by category")
        .mark_bar(size=_bar_width(table))
        .encode(
            x=alt.X(
                "year:Q",
                title="Year (start of event)",
                axis=alt.Axis(format="d"),
                # A year of margin each side, so the first and last bars are drawn whole.
                scale=alt.Scale(domain=_year_domain(table), nice=False),
            ),
            y=alt.Y("sum(events):Q", title="Events", axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color("category:N", scale=category_scale(), title="Category"),
            tooltip=[alt.Tooltip("year:O"), alt.Tooltip("category:N"), alt.Tooltip("events:Q")],
        )
    )


def figures_table(events: pd.DataFrame, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Rows that state a figure, with a readable series name (partner names from `names`)."""
    figures = events.dropna(subset=["value"])
    figures = figures[figures["year_start"].notna()]
    if figures.empty:
        return pd.DataFrame(columns=["year", "series", "value", "unit", "label", "title", "event_id"])
    who = figures["organisations"].where(figures["partners"] == "", figures["partners"])
    who = who.where(who != "", figures["country_iso3"])
    names = names or {}
    who = who.map(lambda cell: "+".join(names.get(code, code) for code in split_list(cell)))
    # Trade and investment figures form series by partner; any other figure is its own series.
    flows = figures["category"].isin(list(FIGURE_CATEGORIES))
    series = ("Russia–" + who + " " + figures["category"]).where(flows, figures["title"])
    table = pd.DataFrame(
        {
            "year": figures["year_start"].astype(int),
            "series": series + " (" + figures["unit"] + ")",
            "value": figures["value"].astype(float),
            "unit": figures["unit"],
            "label": [format_value(v, u) for v, u in zip(figures["value"], figures["unit"], strict=True)],
            "title": figures["title"],
            "event_id": figures["event_id"],
        }
    )
    return table.sort_values(["unit", "series", "year"]).reset_index(drop=True)


def figures_charts(events: pd.DataFrame, names: Mapping[str, str] | None = None) -> list[alt.LayerChart]:
    """Stated figures over time: one chart per unit, so USD and percent never share an axis.

    Only units stated for two or more years make a chart: a lone point is no trend, and the
    table under the charts lists every figure anyway.
    """
    table = figures_table(events, names)
    charts = []
    for unit, part in table.groupby("unit", sort=True):
        if part["year"].nunique() < 2:
            continue
        usd = str(unit).upper() == "USD"
        # Dollar figures read as "7.4 bn"; other units as plain numbers.
        labels = "format(datum.value / 1e9, '~g') + ' bn'" if usd else "format(datum.value, '~s')"
        base = alt.Chart(part).encode(
            x=alt.X(
                "year:Q",
                title="Year the figure refers to",
                axis=alt.Axis(format="d", tickMinStep=1),
                scale=alt.Scale(zero=False, padding=24),
            ),
            y=alt.Y("value:Q", title=f"{unit}", axis=alt.Axis(labelExpr=labels), scale=alt.Scale(zero=True)),
            color=alt.Color("series:N", title=None, legend=alt.Legend(labelLimit=360)),
            tooltip=[
                alt.Tooltip("series:N"),
                alt.Tooltip("year:Q", format="d"),
                alt.Tooltip("label:N", title="figure"),
                alt.Tooltip("title:N"),
            ],
        )
        line = base.mark_line(point=alt.OverlayMarkDef(size=90, filled=True))
        text = base.mark_text(dy=-12, fontSize=12).encode(text="label:N")
        charts.append((line + text).properties(title=f"Stated figures in {unit}", height=220))
    return charts
