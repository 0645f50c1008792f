"""Altair chart specs for the timeline page, built from a filtered, enriched events frame."""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from dashboard.formatting import format_value
from dashboard.schema import CATEGORIES, CATEGORY_COLOURS


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


def timeline_chart(events: pd.DataFrame) -> alt.Chart:
    """Stacked bars: events per year, coloured by category."""
    table = events_per_year(events)
    # A true time axis: 1904 and 2018 are far apart, and an ordinal axis would hide that.
    return (
        alt.Chart(table, title="Events per year, by category")
        .mark_bar(size=7)
        .encode(
            x=alt.X(
                "year:Q",
                title="Year (start of event)",
                axis=alt.Axis(format="d"),
                scale=alt.Scale(zero=False, nice=False, padding=8),
            ),
            y=alt.Y("sum(events):Q", title="Events"),
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
    who = who.map(lambda cell: "+".join(names.get(code, code) for code in cell.split(";")))
    # Trade and investment figures form series by partner; any other figure is its own series.
    flows = figures["category"].isin(["trade", "investment"])
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


def figures_chart(events: pd.DataFrame, names: Mapping[str, str] | None = None) -> alt.FacetChart:
    """Stated figures over time, one panel per unit so USD and percent never share an axis."""
    table = figures_table(events, names)
    base = alt.Chart(table).encode(
        x=alt.X("year:O", title="Year the figure refers to"),
        y=alt.Y("value:Q", title="Value", axis=alt.Axis(format="~s")),
        color=alt.Color("series:N", title="Series"),
        tooltip=["series:N", "year:O", "label:N", "title:N"],
    )
    layered = base.mark_line(point=alt.OverlayMarkDef(size=80)) + base.mark_text(dy=-10).encode(
        text="label:N"
    )
    return (
        layered.facet(row=alt.Row("unit:N", title=None))
        .resolve_scale(y="independent")
        .properties(title="Stated figures over time")
    )
