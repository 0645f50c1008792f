"""Sources page: the four articles, how many events each gives, inferred values, data notes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.data import REPO_DIR
from dashboard.formatting import escape_markdown as esc
from dashboard.schema import INFERENCE_FLAGS, SOURCE_COLUMNS
from dashboard.ui.context import PageContext, current_context

NOTES = REPO_DIR / "docs" / "data-notes.md"


def demote_headings(markdown: str) -> str:
    """Fit a standalone document under this page's subheader: drop its title, shift headings."""
    lines = markdown.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join("##" + line if line.startswith("#") else line for line in lines)


def render(ctx: PageContext) -> None:
    st.title("Sources")
    events, sources = ctx.dataset.events, ctx.dataset.sources
    # A row counts once whether its date, its place or both are implied.
    events = events.assign(any_inferred=events[list(INFERENCE_FLAGS)].any(axis=1))
    per_article = events.groupby("article").agg(events=("event_id", "size"), inferred=("any_inferred", "sum"))
    table = sources.merge(per_article, left_on="article", right_index=True, how="left")
    table[["events", "inferred"]] = table[["events", "inferred"]].fillna(0).astype(int)
    st.dataframe(
        table[[c for c in SOURCE_COLUMNS if c != "notes"] + ["events", "inferred"]],
        hide_index=True,
        width="stretch",
        column_config={
            "article": st.column_config.NumberColumn("article", width="small"),
            "title": st.column_config.TextColumn("title", width="large"),
            "original_publisher": "first published (as stated)",
            "published_year": "year",
            "inferred": st.column_config.NumberColumn("inferred", help="rows whose date or place is implied"),
        },
    )
    for s in sources.itertuples():
        if s.notes:
            with st.expander(f"Article {s.article}: notes on the source"):
                st.markdown(esc(s.notes))
    total_inferred = int(events["any_inferred"].sum())
    # Metrics as wide as their labels, in a row that wraps: four fixed columns cut the labels
    # at 800 px.
    figures = st.container(horizontal=True, gap="large")
    figures.metric("Events", len(events), width="content")
    figures.metric("Inferred dates or places", total_inferred, width="content")
    figures.metric("Undated", int(events["date_start"].fillna("").eq("").sum()), width="content")
    figures.metric("Figures", int(pd.notna(events["value"]).sum()), width="content")
    st.subheader("Data notes")
    if NOTES.exists():
        st.markdown(demote_headings(NOTES.read_text(encoding="utf-8")))
    st.caption(
        "Reference geography: Natural Earth 1:50m country shapes (public domain) via world-atlas; "
        "city coordinates from GeoNames (CC BY 4.0). See geodata/README.md."
    )


render(current_context())
