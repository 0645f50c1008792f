"""Pieces several pages draw: the legend, event lists and cards, and the load report.

Text from the data is always escaped before it reaches Markdown (see `escape_markdown`), and
the only raw HTML drawn is the legend, built from constants with each label HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from dashboard.dataset import Dataset
from dashboard.formatting import escape_markdown as esc
from dashboard.formatting import format_value, plural
from dashboard.layers import LegendItem
from dashboard.lists import split_list

MAX_PROBLEMS_SHOWN = 500


def legend(items: list[LegendItem], notes: Sequence[str] = (), names: Sequence[str] = ()) -> None:
    """Colour keys and size scales: swatches, dots and lines drawn at the map's own sizes."""
    rows = []
    for item in items:
        if item.kind == "note":
            rows.append(f'<div style="margin:6px 0 2px;color:#555">{html.escape(item.label)}</div>')
            continue
        r, g, b = (int(v) for v in item.colour[:3])
        colour = f"rgb({r},{g},{b})"
        if item.kind == "circle":
            d = max(item.size or 12, 4)
            style = f"width:{d:.0f}px;height:{d:.0f}px;border-radius:50%;border:1px solid #fff"
        elif item.kind == "line":
            style = f"width:28px;height:{max(item.size or 4, 1):.1f}px;border-radius:2px"
        else:
            style = "width:14px;height:14px;border-radius:2px"
        rows.append(
            '<div style="display:flex;align-items:center;gap:8px;margin:3px 0">'
            '<span style="display:inline-flex;justify-content:center;align-items:center;min-width:28px">'
            f'<span style="display:inline-block;{style};background:{colour}"></span></span>'
            f"<span>{html.escape(item.label)}</span></div>"
        )
    st.markdown(
        '<div data-testid="map-legend" style="font-size:0.85rem">' + "".join(rows) + "</div>",
        unsafe_allow_html=True,
    )
    if names:
        st.caption(esc(f"{len(names)} members: " + ", ".join(names) + "."))
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


#: An inference note shared by this many listed events is said once, under the list.
SHARED_NOTE_MIN = 2
#: Participants named in a list entry's line; the rest are counted.
MAX_NAMES_IN_LINE = 3


#: Events a list shows; the rest are counted.
EVENT_LIST_LIMIT = 30


def event_list(
    events: pd.DataFrame, dataset: Dataset, limit: int = EVENT_LIST_LIMIT, total: int | None = None
) -> None:
    """A compact list: one line per event (date, title, who), each opening to its evidence.

    `total` counts all there are when `events` holds only the first ones (read from the engine).

    Inference notes shared by several listed events are said once, under the list, and each
    entry points to them; notes of one event stay in its entry.
    """
    shown = events.head(limit)
    names = dataset.reference.country_names
    titles = dict(zip(dataset.sources["article"], dataset.sources["title"], strict=True))
    notes = _inference_notes(shown)
    counts: dict[str, int] = {}
    for per_row in notes:
        for _, note in per_row:
            counts[note] = counts.get(note, 0) + 1
    shared = [n for n, k in counts.items() if k >= SHARED_NOTE_MIN]
    letters = {note: chr(ord("A") + i) if i < 26 else str(i + 1) for i, note in enumerate(shared)}
    if any(notes):
        st.caption("≈ marks a date or place the text does not state but implies; each entry says how.")
    for (_, row), row_notes in zip(shown.iterrows(), notes, strict=True):
        with st.expander(esc(_line(row, names))):
            _entry(row, names, titles, row_notes, letters)
    total = len(events) if total is None else total
    if total > limit:
        st.caption(f"… and {total - limit} more: see the Data page.")
    for note in shared:
        st.caption(esc(f"Note {letters[note]}, shared by {counts[note]} events: {note}"))


def _line(row: pd.Series, names: dict[str, str]) -> str:
    """Date, title and participants on one line (≈ before a date the text does not state)."""
    date = date_text(row)
    if row["date_inferred"]:
        date = "≈" + date
    who = [names.get(p, p) for p in split_list(row["participants"])]
    if len(who) > MAX_NAMES_IN_LINE:
        who = [*who[:MAX_NAMES_IN_LINE], f"+{len(who) - MAX_NAMES_IN_LINE}"]
    return " · ".join(part for part in (date, str(row["title"]), ", ".join(who)) if part)


def _inference_notes(rows: pd.DataFrame) -> list[list[tuple[str, str]]]:
    """Per row: (what, note) for its inferred date and place."""
    out = []
    for _, row in rows.iterrows():
        notes = []
        for flag, column, what in (
            ("date_inferred", "date_inference_note", "date"),
            ("place_inferred", "place_inference_note", "place"),
        ):
            if row[flag]:
                notes.append((what, str(row[column] or "no note given")))
        out.append(notes)
    return out


def _entry(row, names, titles, notes: list[tuple[str, str]], letters: dict[str, str]) -> None:
    where = ", ".join(x for x in (row["place"], names.get(row["country_iso3"], row["country_iso3"])) if x)
    facts = [f"`{esc(row['category'])}`", esc(date_text(row)), esc(where) or "no place named"]
    st.markdown(" · ".join(facts))
    if row["summary"]:
        st.markdown(esc(row["summary"]))
    orgs = split_list(row["organisations"])
    if orgs:
        st.markdown(":material/groups: " + esc(", ".join(orgs)))
    if pd.notna(row["value"]):
        st.markdown(f":material/monitoring: **{esc(format_value(row['value'], row['unit']))}**")
    article = int(row["article"]) if pd.notna(row["article"]) else None
    source = f"Article {article}: {titles.get(article, '')}" if article else "no article"
    st.markdown(f"> “{esc(row['evidence'])}”  \n> — {esc(source)}")
    for what, note in notes:
        if note in letters:
            st.caption(esc(f"≈ {what} inferred: see note {letters[note]} under the list."))
        else:
            st.caption(esc(f"≈ {what} inferred: {note}"))
    st.caption(f"`{esc(row['event_id'])}`")


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
        with st.expander(f"Problems in the reference data ({len(reference.problems):,})"):
            _problem_table(reference.problems)
    result = dataset.result
    problems = list(dataset.source_problems) + list(result.problems)
    if not problems:
        return
    errors = sum(p.severity == "error" for p in problems)
    st.warning(
        f"{esc(dataset.label)}: loaded {result.rows_loaded:,} of {result.rows_read:,} rows; "
        f"skipped {result.rows_skipped:,}. {plural(len(problems), 'problem')} ({errors:,} skip a row)."
    )
    with st.expander(f"Problems in {esc(dataset.label)} ({len(problems):,})"):
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


# ----- the chart's width, measured in the browser ------------------------------------------

#: Reports the width of the column it sits in, when narrower than `data.below` (else null),
#: rounded down to 4 px, after resizing settles: the map's opening view is fitted on the server,
#: which otherwise knows only the 1400x900 layout. Constant code; the only data it gets is a
#: number from the page.
_WIDTH_JS = """
export default function (component) {
  const { parentElement, setStateValue, data } = component;
  const below = Number(data && data.below) || 0;
  const host = parentElement;
  const measure = () => {
    const width = host.getBoundingClientRect().width;
    if (!(width > 0)) return;
    const value = width < below ? Math.floor(width / 4) * 4 : null;
    if (host.__sentWidth !== value) {
      host.__sentWidth = value;
      setStateValue("width", value);
    }
  };
  let timer = null;
  const observer = new ResizeObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(measure, 150);
  });
  observer.observe(host);
  measure();
  return () => { observer.disconnect(); clearTimeout(timer); };
}
"""
_chart_width = st.components.v2.component("summit_atlas.chart_width", js=_WIDTH_JS, isolate_styles=False)


def chart_width(key: str, below: float) -> float | None:
    """The width of the column this is placed in, as the browser reports it, when narrower than
    `below` (the map passes MAP_WIDTH); None when wider, or not reported yet (the first run,
    AppTest). The value comes from the client: anything but a finite positive number is taken
    as no report."""
    result = _chart_width(
        key=key, data={"below": below}, default={"width": None}, on_width_change=lambda: None, height=0
    )
    value = getattr(result, "width", None)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < below:
        return None
    return float(value)
