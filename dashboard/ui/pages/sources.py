"""Sources page: the four articles, how many events each gives, inferred values, data notes."""

from __future__ import annotations

import streamlit as st

from dashboard.data import REPO_DIR
from dashboard.engine import Selection
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
    sources = ctx.dataset.sources
    every = Selection(ctx.selection.engine)  # the whole table, whatever the filters
    # A row counts once whether its date, its place or both are implied.
    inferred = " OR ".join(f"coalesce({flag}, false)" for flag in INFERENCE_FLAGS)
    per_article = every.query(
        f"SELECT article, count(*) AS events, count(*) FILTER (WHERE {inferred}) AS inferred, "
        "count(*) FILTER (WHERE coalesce(date_start, '') = '') AS undated, "
        "count(value) AS figures FROM sel GROUP BY article"
    )
    totals = per_article[["events", "inferred", "undated", "figures"]].sum()
    per_article = per_article.dropna(subset=["article"]).set_index("article")[["events", "inferred"]]
    per_article.index = per_article.index.astype(int)
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
    total_inferred = int(totals["inferred"])
    # Metrics as wide as their labels, in a row that wraps: four fixed columns cut the labels
    # at 800 px.
    figures = st.container(horizontal=True, gap="large")
    figures.metric("Events", int(totals["events"]), width="content")
    figures.metric("Inferred dates or places", total_inferred, width="content")
    figures.metric("Undated", int(totals["undated"]), width="content")
    figures.metric("Figures", int(totals["figures"]), width="content")
    st.subheader("Data notes")
    if NOTES.exists():
        st.markdown(demote_headings(NOTES.read_text(encoding="utf-8")))
    st.caption(
        "Reference geography: Natural Earth 1:50m country shapes (public domain) via world-atlas; "
        "city coordinates from GeoNames (CC BY 4.0). See geodata/README.md."
    )


render(current_context())
