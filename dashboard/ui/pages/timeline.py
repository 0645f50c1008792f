"""Timeline page: events per year by category, and the stated figures over time."""

from __future__ import annotations

import streamlit as st

from dashboard.charts import figures_charts, figures_table, timeline_chart
from dashboard.formatting import escape_markdown as esc
from dashboard.ui.context import PageContext, current_context
from dashboard.ui.downloads import figure_buttons


def render(ctx: PageContext) -> None:
    st.title("Timeline")
    st.caption(esc(ctx.caption()))
    rows = ctx.rows
    if rows.empty:
        st.info("No events match these filters. Widen the years or clear a filter.")
        return
    undated = int(rows["year_start"].isna().sum())
    st.altair_chart(timeline_chart(rows), width="stretch")
    if undated:
        st.caption(f"{undated} events are undated in the text and are not on this chart.")
    inferred = int(rows["date_inferred"].sum())
    if inferred:
        st.caption(f"{inferred} of these dates are inferred from context, not stated (see Data).")
    figure_buttons(ctx, "timeline")
    st.subheader("Stated figures")
    names = ctx.dataset.reference.country_names
    table = figures_table(rows, names)
    if table.empty:
        st.info("None of the filtered events states a figure. Try the category filter: trade, investment.")
        return
    for chart in figures_charts(rows, names):
        st.altair_chart(chart, width="stretch", height=280)
    st.dataframe(
        table[["year", "series", "label", "title", "event_id"]],
        hide_index=True,
        width="stretch",
        column_config={"label": "figure", "event_id": "event id"},
    )


render(current_context())
