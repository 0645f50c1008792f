"""Timeline page: events per year by kind over the busiest span, the rest apart, and the stated figures."""

from __future__ import annotations

import streamlit as st

from dashboard.charts import (
    MAX_FIGURES,
    STATED_FIGURES,
    charts_of_figures,
    context_chart,
    events_per_month,
    figures_table,
    months_chart,
    timeline_chart,
    timeline_span,
)
from dashboard.formatting import escape_markdown as esc
from dashboard.formatting import plural
from dashboard.ui.context import PageContext, current_context
from dashboard.ui.downloads import figure_buttons
from dashboard.ui.state import KEYS

#: A window this short also gets a chart per month.
MONTHS_MAX_YEARS = 3


def _years(span: tuple[int, int]) -> str:
    return str(span[0]) if span[0] == span[1] else f"{span[0]}-{span[1]}"


def events_over_time(rows, years: tuple[int, int] | None) -> None:
    span = timeline_span(rows, years)
    if span is None:
        st.info("None of these events is dated in the text, so there is no timeline to draw.")
        return
    window = (span.lo, span.hi)
    st.altair_chart(
        timeline_chart(rows, window, title=f"Events per year, {_years(window)}, by kind"), width="stretch"
    )
    if span.years <= MONTHS_MAX_YEARS:
        _by_month(rows, window)
    sides = ((span.earlier, span.earlier_span, "earlier"), (span.later, span.later_span, "later"))
    apart = [(n, s, word) for n, s, word in sides if n]
    if apart:
        words = " and ".join(f"{plural(n, word + ' event')} ({_years(s)})" for n, s, word in apart)
        if window == years:
            # A span event that began before the range runs into it: the filter keeps it.
            st.caption(f"Bars count events by the year they began; some began before {window[0]}.")
        else:
            st.caption(f"The chart opens on {_years(window)}, the shortest span holding most dated events.")
        if st.toggle(f"Show {words}", key=KEYS.timeline_context):
            for _, s, word in apart:
                title = f"{word.capitalize()} events, {_years(s)}"
                st.altair_chart(context_chart(rows, s, title), width="stretch")


def _by_month(rows, window: tuple[int, int]) -> None:
    """A chart per month for a short window, of the events the text dates to the month or day."""
    by_month = events_per_month(rows)
    in_window = by_month[by_month["month"].str.slice(0, 4).astype(int).between(*window)]
    dated_to_month = int(in_window["events"].sum())
    if not dated_to_month:
        return
    st.altair_chart(months_chart(rows, window), width="stretch")
    year_only = rows.narrowed("year_start BETWEEN ? AND ?", list(window)).count() - dated_to_month
    if year_only:
        st.caption(
            f"{plural(year_only, 'event')} of {_years(window)} dated to the year only: "
            "in the yearly chart, not in a month."
        )


def render(ctx: PageContext) -> None:
    st.title("Timeline")
    st.caption(esc(ctx.caption()))
    rows = ctx.selection  # counts and charts are asked of the engine
    if ctx.count == 0:
        st.info("No events match these filters. Widen the years or clear a filter.")
        return
    events_over_time(rows, ctx.state.years)
    undated = rows.narrowed("year_start IS NULL").count()
    if undated:
        st.caption(f"{plural(undated, 'event')} undated in the text, not on the chart.")
    inferred = rows.narrowed("coalesce(date_inferred, false)").count()
    if inferred:
        st.caption(f"{inferred:,} of these dates are inferred from context, not stated (see Data).")
    figure_buttons(ctx, "timeline")
    st.subheader("Stated figures")
    names = ctx.dataset.reference.country_names
    # At most MAX_FIGURES figures leave the engine: a large table states millions.
    table = figures_table(rows, names, limit=MAX_FIGURES)
    if table.empty:
        st.info("None of the filtered events states a figure. Try the category filter: trade, investment.")
        return
    stated = rows.narrowed(STATED_FIGURES).count()
    if stated > len(table):
        st.caption(
            f"The first {len(table):,} of {stated:,} stated figures, by date: "
            "the Data page and its downloads hold them all."
        )
    for chart in charts_of_figures(table):
        st.altair_chart(chart, width="stretch", height=280)
    st.dataframe(
        table[["year", "series", "label", "title", "event_id"]],
        hide_index=True,
        width="stretch",
        column_config={"label": "figure", "event_id": "event id"},
    )


render(current_context())
