"""Data page: the filtered rows, their downloads (exactly what is shown) and how to cite them."""

from __future__ import annotations

import streamlit as st

from dashboard.export import to_csv_bytes, to_geojson_bytes
from dashboard.formatting import escape_markdown as esc
from dashboard.formatting import format_value
from dashboard.ui import components
from dashboard.ui.context import PageContext
from dashboard.ui.state import commit

SHOWN_COLUMNS = [
    "date_start",
    "date_end",
    "title",
    "category",
    "place",
    "country_name",
    "participants",
    "organisations",
    "figure",
    "date_inferred",
    "article",
    "evidence",
    "event_id",
]


def render(ctx: PageContext) -> None:
    st.title("Data")
    rows = ctx.rows
    st.markdown(f"**{esc(ctx.sentence)}** {len(rows)} of {len(ctx.dataset.events)} events.")
    if rows.empty:
        st.info("No events match these filters, so there is nothing to download. Clear a filter to see rows.")
    stem = "summit-atlas-events"
    left, right, _ = st.columns([1, 1, 3])
    left.download_button(
        "Download CSV",
        to_csv_bytes(rows),
        file_name=f"{stem}.csv",
        mime="text/csv",
        disabled=rows.empty,
        width="stretch",
        on_click="ignore",
    )
    right.download_button(
        "Download GeoJSON",
        to_geojson_bytes(rows),
        file_name=f"{stem}.geojson",
        mime="application/geo+json",
        disabled=rows.empty,
        width="stretch",
        on_click="ignore",
    )
    # The table shows figures as people read them; the downloads keep value and unit apart.
    shown = rows.assign(figure=[format_value(v, u) for v, u in zip(rows["value"], rows["unit"], strict=True)])
    # Same rows, same order as the downloads: the dataset is kept in date order (geo.enrich).
    table = shown[SHOWN_COLUMNS]
    picked = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * max(len(table), 1), 560),
        on_select="rerun",
        selection_mode="single-row",
        key="data-table",
        column_config={
            "date_start": st.column_config.TextColumn(
                "start", help="ISO date at the precision the text gives"
            ),
            "date_end": st.column_config.TextColumn("end"),
            "title": st.column_config.TextColumn("title", width="medium"),
            "country_name": st.column_config.TextColumn("country"),
            "participants": st.column_config.TextColumn("participants", help="ISO3 codes of states"),
            "figure": st.column_config.TextColumn("figure", help="value and unit as stated"),
            "date_inferred": st.column_config.CheckboxColumn(
                "inferred", help="date or place implied, not stated"
            ),
            "article": st.column_config.NumberColumn("article", format="%d"),
            "evidence": st.column_config.TextColumn("evidence (verbatim)", width="large"),
            "event_id": st.column_config.TextColumn("event id"),
        },
    )
    chosen = picked["selection"]["rows"] if picked else []
    if chosen:
        event_id = table.iloc[chosen[0]]["event_id"]
        commit(ctx.state.replace(event=event_id))
        st.subheader("Selected event")
        components.event_cards(rows[rows["event_id"] == event_id], ctx.dataset)

    st.subheader("How to cite")
    sources = ctx.dataset.sources
    cited = sources[sources["article"].isin(rows["article"].dropna().astype(int).unique())]
    lines = []
    for s in cited.itertuples():
        author = f"{s.author}, " if s.author else ""
        publisher = f" ({s.original_publisher})" if s.original_publisher else ""
        year = f", {s.published_year}" if s.published_year else ""
        lines.append(f"- {esc(author)}“{esc(s.title)}”, *{esc(s.outlet)}*{esc(year)}{esc(publisher)}.")
    st.markdown(
        "Cite the articles the rows come from, and this dataset for the coding:\n\n"
        + ("\n".join(lines) if lines else "- (no rows selected)")
        + "\n\nSummit Atlas events table, "
        + esc(f"filtered as: {ctx.sentence}")
        + " Each row carries a verbatim evidence quote and its article number."
    )
