"""Pieces several pages draw: the legend, event detail cards, and the load report.

Text from the data is always escaped before it reaches Markdown (see `escape_markdown`), and
the only raw HTML drawn is the legend, built from constants with each label HTML-escaped.
"""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from dashboard.dataset import Dataset
from dashboard.formatting import escape_markdown as esc
from dashboard.formatting import format_value, plural
from dashboard.layers import LegendItem
from dashboard.lists import split_list

MAX_PROBLEMS_SHOWN = 500


def legend(items: list[LegendItem], notes: list[str] = ()) -> None:
    """Colour keys beside the map, as small swatches, dots or lines."""
    shapes = {
        "swatch": "width:14px;height:14px;border-radius:2px",
        "circle": "width:12px;height:12px;border-radius:50%",
        "line": "width:22px;height:4px;border-radius:2px",
    }
    rows = []
    for item in items:
        if item.kind == "note":
            rows.append(f'<div style="margin:6px 0;color:#555">{html.escape(item.label)}</div>')
            continue
        r, g, b = item.colour[:3]
        style = shapes.get(item.kind, shapes["swatch"])
        rows.append(
            f'<div style="display:flex;align-items:center;gap:8px;margin:3px 0">'
            f'<span style="display:inline-block;{style};background:rgb({int(r)},{int(g)},{int(b)})"></span>'
            f"<span>{html.escape(item.label)}</span></div>"
        )
    st.markdown(
        '<div data-testid="map-legend" style="font-size:0.85rem">' + "".join(rows) + "</div>",
        unsafe_allow_html=True,
    )
    for note in notes:
        st.caption(esc(note))


def date_text(row) -> str:
    start, end = row["date_start"] or "", row["date_end"] or ""
    text = start if not end or end == start else f"{start} – {end}"
    return text or "undated"


def event_card(row: pd.Series, dataset: Dataset, titles: dict[int, str]) -> None:
    """One event as a bordered card: what, when, where, who, and the quote that supports it."""
    names = dataset.reference.country_names
    with st.container(border=True):
        st.markdown(f"**{esc(row['title'])}**  \n`{esc(row['category'])}` · `{esc(row['event_id'])}`")
        when = esc(date_text(row))
        if row["date_inferred"]:
            when += f" · **inferred**: {esc(row['date_inference_note'])}"
        where = ", ".join(x for x in (row["place"], names.get(row["country_iso3"], row["country_iso3"])) if x)
        st.markdown(f":material/event: {when}  \n:material/place: {esc(where) or 'no place named'}")
        if row["summary"]:
            st.markdown(esc(row["summary"]))
        who = [names.get(p, p) for p in split_list(row["participants"])]
        orgs = split_list(row["organisations"])
        if who or orgs:
            st.markdown(
                ":material/groups: " + esc("; ".join(filter(None, [", ".join(who), ", ".join(orgs)])))
            )
        if pd.notna(row["value"]):
            st.markdown(f":material/monitoring: **{esc(format_value(row['value'], row['unit']))}**")
        article = int(row["article"]) if pd.notna(row["article"]) else None
        source = f"Article {article}: {titles.get(article, '')}" if article else "no article"
        st.markdown(f"> “{esc(row['evidence'])}”  \n> — {esc(source)}")


def event_cards(events: pd.DataFrame, dataset: Dataset, limit: int = 30) -> None:
    titles = dict(zip(dataset.sources["article"], dataset.sources["title"], strict=True))
    for _, row in events.head(limit).iterrows():
        event_card(row, dataset, titles)
    if len(events) > limit:
        st.caption(f"… and {len(events) - limit} more: see the Data page.")


def load_report(dataset: Dataset) -> None:
    """The reference data's problems, then how many rows were loaded and skipped, and every
    problem, each in an expander."""
    reference = dataset.reference
    if reference.problems:
        skipped = sum(p.severity == "error" for p in reference.problems)
        st.warning(
            f"Reference data ({esc(reference.label)}/): {plural(len(reference.problems), 'problem')}, "
            f"{plural(skipped, 'reference row')} skipped. What they describe may be missing from the map."
        )
        with st.expander(f"Problems in the reference data ({len(reference.problems)})"):
            _problem_table(reference.problems)
    result = dataset.result
    problems = list(dataset.source_problems) + list(result.problems)
    if not problems:
        return
    errors = sum(p.severity == "error" for p in problems)
    st.warning(
        f"{esc(dataset.label)}: loaded {result.rows_loaded} of {result.rows_read} rows; "
        f"skipped {result.rows_skipped}. {plural(len(problems), 'problem')} ({errors} skip a row)."
    )
    with st.expander(f"Problems in {esc(dataset.label)} ({len(problems)})"):
        _problem_table(problems)


def _problem_table(problems) -> None:
    """Problems as a table of text (never Markdown); line 0 is a file as a whole, not a row."""
    shown = problems[:MAX_PROBLEMS_SHOWN]
    outcomes = {"error": "row skipped", "warning": "row kept"}
    st.dataframe(
        pd.DataFrame(
            {
                "file": [p.file for p in shown],
                "line": [p.line for p in shown],
                "column": [p.column for p in shown],
                "problem": [p.reason for p in shown],
                "outcome": [outcomes[p.severity] if p.line else "-" for p in shown],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    if len(problems) > len(shown):
        st.caption(f"First {len(shown)} shown; run `python -m dashboard validate` for all.")
