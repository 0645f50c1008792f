"""Altair chart specs for the timeline page, built from the filtered events.

The counts per year and month come from the engine (a `Selection`, or an enriched frame read
through one), so a chart's cost does not grow with the table.

The timeline opens on the window of years that holds most events (`timespan.opening_window`)
and sets the rest apart in a low strip; its legend lists only the kinds it draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import altair as alt
import pandas as pd

from dashboard.engine import Selection
from dashboard.formatting import format_value
from dashboard.lists import split_list
from dashboard.schema import CATEGORIES, CATEGORY_COLOURS, FIGURE_CATEGORIES
from dashboard.timespan import WHOLE_SPAN_YEARS, opening_window, year_counts


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def category_scale(categories=None) -> alt.Scale:
    """The same category colours as the map markers, for `categories` only (all by default).

    A legend lists its scale's whole domain: giving only the kinds drawn keeps it to those.
    """
    shown = [c for c in CATEGORIES if categories is None or c in set(categories)]
    return alt.Scale(domain=shown, range=[_hex(CATEGORY_COLOURS[c]) for c in shown])


def events_per_year(events: pd.DataFrame | Selection) -> pd.DataFrame:
    """Counts of dated events per start year and category."""
    table = Selection.of(events).query(
        "SELECT year_start AS year, category, count(*) AS events FROM sel "
        "WHERE year_start IS NOT NULL AND category IS NOT NULL GROUP BY ALL ORDER BY year, category"
    )
    if table.empty:
        return pd.DataFrame(columns=["year", "category", "events"])
    table["year"] = table["year"].astype(int)
    table["events"] = table["events"].astype(int)
    return table


@dataclass(frozen=True)
class TimelineSpan:
    """What the timeline opens on (`lo`-`hi`, start years) and what it sets apart on each side."""

    lo: int
    hi: int
    earlier: int = 0
    earlier_span: tuple[int, int] | None = None
    later: int = 0
    later_span: tuple[int, int] | None = None

    @property
    def years(self) -> int:
        return self.hi - self.lo + 1


def timeline_span(events: pd.DataFrame, within: tuple[int, int] | None = None) -> TimelineSpan | None:
    """The window the timeline opens on, and how many dated events lie before and after it.

    `within` is the years filter: a short range is drawn whole, a long one opens on its densest
    window. Events that began before it (their span reaches into it) count as earlier.
    """
    counts = year_counts(events)
    if within is None:
        window = opening_window(counts)
    else:
        inside = {y: n for y, n in counts.items() if within[0] <= y <= within[1]}
        short = within[1] - within[0] < WHOLE_SPAN_YEARS
        window = within if short or not inside else opening_window(inside)
    if window is None:
        return None
    lo, hi = window
    before = {y: n for y, n in counts.items() if y < lo}
    after = {y: n for y, n in counts.items() if y > hi}
    return TimelineSpan(
        lo,
        hi,
        earlier=sum(before.values()),
        earlier_span=(min(before), max(before)) if before else None,
        later=sum(after.values()),
        later_span=(min(after), max(after)) if after else None,
    )


def _colour(table: pd.DataFrame, title: str | None = "Kind", legend: bool = True) -> alt.Color:
    present = table["category"].unique() if len(table) else []
    return alt.Color(
        "category:N",
        scale=category_scale(present),
        title=title,
        legend=alt.Legend() if legend else None,
    )


def timeline_chart(
    events: pd.DataFrame, span: tuple[int, int] | None = None, title: str = "Events per year, by kind"
) -> alt.Chart:
    """Stacked bars: events per start year within `span` (every dated year by default), by kind.

    Each year of the span is one band, empty years included, so gaps stay visible and a
    two-year span gets two wide bars, not two slivers on a century's axis.
    """
    table = events_per_year(events)
    if span is None:
        span = (int(table["year"].min()), int(table["year"].max())) if len(table) else (2000, 2020)
    lo, hi = span
    table = table[(table["year"] >= lo) & (table["year"] <= hi)]
    return (
        alt.Chart(table, title=title)
        .mark_bar()
        .encode(
            x=alt.X(
                "year:O",
                title="Year (start of event)",
                scale=alt.Scale(domain=list(range(lo, hi + 1)), paddingInner=0.15),
                axis=alt.Axis(labelAngle=0, labelOverlap=True),
            ),
            y=alt.Y("sum(events):Q", title="Events", axis=alt.Axis(tickMinStep=1, format=",d")),
            color=_colour(table),
            tooltip=[alt.Tooltip("year:O"), alt.Tooltip("category:N", title="kind"), alt.Tooltip("events:Q")],
        )
    )


def context_chart(events: pd.DataFrame, span: tuple[int, int], title: str) -> alt.Chart:
    """A low strip of the events outside the opening window, on a true time axis (gaps to scale)."""
    lo, hi = span
    table = events_per_year(events)
    table = table[(table["year"] >= lo) & (table["year"] <= hi)]
    # Bars a year wide at about 650 px of plot: thin over a century, wider over a decade.
    width = round(min(max(600 / (hi - lo + 3), 3.0), 24.0), 1)
    return (
        alt.Chart(table, title=title)
        .mark_bar(size=width)
        .encode(
            x=alt.X(
                "year:Q",
                title=None,
                axis=alt.Axis(format="d", tickMinStep=1),
                # A year of margin each side, so the first and last bars are drawn whole.
                scale=alt.Scale(domain=[lo - 1, hi + 1], nice=False),
            ),
            y=alt.Y("sum(events):Q", title=None, axis=alt.Axis(tickMinStep=1, format=",d", tickCount=2)),
            color=_colour(table),
            tooltip=[alt.Tooltip("year:O"), alt.Tooltip("category:N", title="kind"), alt.Tooltip("events:Q")],
        )
        .properties(height=90)
    )


def events_per_month(events: pd.DataFrame | Selection) -> pd.DataFrame:
    """Counts per start month of the events whose text gives a month (or a day), by category.

    Events dated to the year only are left out: placing them in a month would state more than
    the text does.
    """
    table = Selection.of(events).query(
        "SELECT substr(date_start, 1, 7) AS month, category, count(*) AS events FROM sel "
        "WHERE regexp_matches(coalesce(date_start, ''), '^[0-9]{4}-[0-9]{2}') AND category IS NOT NULL "
        "GROUP BY ALL ORDER BY month, category"
    )
    if table.empty:
        return pd.DataFrame(columns=["month", "category", "events"])
    table["events"] = table["events"].astype(int)
    return table


def months_chart(events: pd.DataFrame, span: tuple[int, int]) -> alt.Chart:
    """Stacked bars per month of `span`'s years, for the events dated to the month or day."""
    lo, hi = span
    months = [f"{y:04d}-{m:02d}" for y in range(lo, hi + 1) for m in range(1, 13)]
    table = events_per_month(events)
    table = table[table["month"].isin(months)]
    return (
        alt.Chart(table, title="Events per month (those the text dates to the month or day)")
        .mark_bar()
        .encode(
            x=alt.X(
                "month:O",
                title="Month (start of event)",
                scale=alt.Scale(domain=months, paddingInner=0.15),
                axis=alt.Axis(labelAngle=-45, labelOverlap=True),
            ),
            y=alt.Y("sum(events):Q", title="Events", axis=alt.Axis(tickMinStep=1, format=",d")),
            color=_colour(table),
            tooltip=[
                alt.Tooltip("month:O"),
                alt.Tooltip("category:N", title="kind"),
                alt.Tooltip("events:Q"),
            ],
        )
        .properties(height=220)
    )


#: What a figures table reads of a stated figure's row.
_FIGURE_COLUMNS = ["event_id", "title", "category", "value", "unit", "year_start", "partners"]
_FIGURE_COLUMNS += ["organisations", "country_iso3"]


#: Stated figures the timeline charts and lists at most: a large table states millions.
MAX_FIGURES = 2000
#: Which rows state a figure the figures table and charts can place in time.
STATED_FIGURES = "value IS NOT NULL AND year_start IS NOT NULL"


def figures_table(
    events: pd.DataFrame | Selection, names: Mapping[str, str] | None = None, limit: int | None = None
) -> pd.DataFrame:
    """Rows that state a figure, with a readable series name (partner names from `names`).

    From a Selection, only the rows that state a figure leave the engine, only the columns
    read here, and at most `limit` of them (the first in table order, that is by date).
    """
    if isinstance(events, Selection):
        events = events.narrowed(STATED_FIGURES).rows(columns=_FIGURE_COLUMNS, limit=limit)
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


def figures_charts(
    events: pd.DataFrame | Selection, names: Mapping[str, str] | None = None
) -> list[alt.LayerChart]:
    """Stated figures over time: one chart per unit, so USD and percent never share an axis.

    Only units stated for two or more years make a chart: a lone point is no trend, and the
    table under the charts lists every figure anyway.
    """
    return charts_of_figures(figures_table(events, names))


def charts_of_figures(table: pd.DataFrame) -> list[alt.LayerChart]:
    """`figures_charts` of a figures table already built (`figures_table`)."""
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
