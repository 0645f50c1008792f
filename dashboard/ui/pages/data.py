"""Data page: the filtered rows, their downloads (exactly what is shown) and how to cite them."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from dashboard import export
from dashboard.cli import export_command
from dashboard.export import DOWNLOAD_MAX_ROWS, FORMATS, ExportContext, download_refusal, reporting
from dashboard.formatting import escape_markdown as esc
from dashboard.formatting import format_value
from dashboard.ui import components
from dashboard.ui.context import PageContext, current_context
from dashboard.ui.state import KEYS, commit

#: Rows the table shows at once; a larger selection is paged (the downloads hold every row).
PAGE_SIZE = 1000

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
    "place_inferred",
    "article",
    "evidence",
    "event_id",
]

#: What a page of the table reads: the shown columns, the figure as its value and unit (the long
#: summary and search text are never read).
READ_COLUMNS = [c for c in SHOWN_COLUMNS if c != "figure"] + ["value", "unit"]


def render(ctx: PageContext) -> None:
    st.title("Data")
    rows = ctx.selection  # the count and one page of rows come from the engine
    st.markdown(f"**{esc(ctx.sentence)}** {ctx.count:,} of {ctx.total:,} events.")
    if ctx.count == 0:
        st.info("No events match these filters, so there is nothing to download. Clear a filter to see rows.")
    bounded = download_buttons(ctx)
    # Same rows, same order as the downloads (the dataset is kept in date order, geo.enrich);
    # the table shows one page at a time, so its cost is bounded by the page, not the table.
    start = _page_start(ctx.count, every_download=not bounded)
    page = rows.rows(columns=READ_COLUMNS, limit=PAGE_SIZE, offset=start)
    # The table shows figures as people read them; the downloads keep value and unit apart.
    shown = page.assign(figure=[format_value(v, u) for v, u in zip(page["value"], page["unit"], strict=True)])
    table = shown[SHOWN_COLUMNS]
    picked = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * max(len(table), 1), 560),
        on_select="rerun",
        selection_mode="single-row",
        key=KEYS.data_table,
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
                "date inferred", help="the date is implied by the text, not stated"
            ),
            "place_inferred": st.column_config.CheckboxColumn(
                "place inferred", help="the place is implied by the text, not stated"
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
        components.event_cards(rows.narrowed("event_id = ?", [event_id]).rows(limit=1), ctx.dataset)

    st.subheader("How to cite")
    sources = ctx.dataset.sources
    articles = rows.query("SELECT DISTINCT article FROM sel WHERE article IS NOT NULL")["article"]
    cited = sources[sources["article"].isin([int(a) for a in articles])]
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


def download_buttons(ctx: PageContext) -> list[str]:
    """One button per export format; each file is built only when asked for.

    A small selection's file is built when its button is clicked (Streamlit shows a spinner on
    the button meanwhile). From PREPARE_MIN_ROWS rows a file takes more than a second: the
    button is "Prepare …", which builds it in the page's run under a progress bar, then offers
    it for download (kept for this session until the filters change; one file at a time).
    A format whose bound (`export.DOWNLOAD_MAX_ROWS`) the selection exceeds gets a disabled
    button (no file can be built for it, not even by a request sent by hand) and, beside the
    buttons, the count, the limit and the two ways out: narrower filters, or the command-line
    export of exactly these rows. Returns the keys of the formats refused.
    """
    context = ExportContext(ctx.dataset, ctx.state, permalink=permalink(ctx.state))
    refusals = {key: download_refusal(key, ctx.count) for key in FORMATS}
    prepared = _prepared(ctx)
    # Buttons as wide as their labels, in a row that wraps on a narrow screen: fixed columns
    # would cut the labels ("Downl…") at 800 px.
    row = st.container(horizontal=True, gap="small")
    progress = st.empty()
    for fmt in FORMATS.values():
        refused = refusals[fmt.key]
        ready = prepared is not None and prepared["format"] == fmt.key
        if ctx.count >= export.PREPARE_MIN_ROWS and not refused and not ready:
            if row.button(
                f"Prepare {fmt.label}",
                key=f"prepare-{fmt.key}",
                help=f"{ctx.count:,} rows take a few seconds to write: the file is built here, "
                "with a progress bar, then offered for download",
            ):
                with progress.container():
                    _prepare(ctx, fmt, context)
                st.rerun()
            continue
        row.download_button(
            f"Download {fmt.label}",
            # Prepared above, or built when the button is clicked (never on a rerun).
            data=prepared["data"] if ready else (lambda fmt=fmt: fmt.write(ctx.selection, context)),
            file_name=fmt.file_name(),
            mime=fmt.mime,
            help=refused or fmt.help,
            disabled=ctx.count == 0 or bool(refused),
            width="content",
            on_click="ignore",
            key=f"download-{fmt.key}",
        )
    refused = [key for key, why in refusals.items() if why]
    if refused:
        too_large(ctx, refused)
    return refused


def _signature(ctx: PageContext) -> tuple:
    """What a prepared file was built from: this dataset and these filters."""
    return (id(ctx.dataset), ctx.state.filters_only())


def _prepared(ctx: PageContext) -> dict | None:
    """The file prepared for this dataset and these filters, if any; one built for others is
    dropped (its memory with it)."""
    held = st.session_state.get(KEYS.prepared_download)
    if held is not None and held["signature"] != _signature(ctx):
        del st.session_state[KEYS.prepared_download]
        return None
    return held


def _prepare(ctx: PageContext, fmt, context: ExportContext) -> None:
    """Build `fmt`'s file of the selection under a progress bar, and keep it for the session."""
    st.session_state.pop(KEYS.prepared_download, None)  # one file at a time
    bar = st.progress(0.0, text=f"Writing {fmt.label}…")

    def report(done: int, total: int) -> None:
        share = done / total if total else 1.0
        bar.progress(share, text=f"Writing {fmt.label}: {share:.0%} of {ctx.count:,} rows…")

    data = fmt.write(reporting(ctx.selection, fmt, report), context)
    st.session_state[KEYS.prepared_download] = {
        "signature": _signature(ctx),
        "format": fmt.key,
        "data": data,
    }


def too_large(ctx: PageContext, refused: list[str]) -> None:
    """Why some downloads are off, in plain words, and the command that writes these rows.

    Only numbers and our own labels are written as Markdown; the command (which holds the
    filters' values, from the URL) is shown as code, never rendered.
    """
    limits = " or ".join(
        f"as {FORMATS[key].label} (at most {DOWNLOAD_MAX_ROWS[key]:,} rows)" for key in refused
    )
    st.warning(
        f"These filters select {ctx.count:,} rows, more than a download in the browser may hold "
        f"{limits}: the server builds each file in its memory. To get these rows, narrow the "
        "filters, or run the command-line export from the app's folder; it writes any number of "
        "rows to a file in batches:"
    )
    st.code("\n".join(export_command(ctx.state.filters_only(), key) for key in refused), language="bash")
    held = st.session_state.get(KEYS.uploaded_dataset)
    if held is not None and held[1] is ctx.dataset:
        st.caption(
            "This table was uploaded: add `--events` and the path of your file to the command "
            "(an ACLED or GDELT file converted first with `python -m dashboard import`)."
        )


def permalink(state) -> str:
    """The address of this view: the app's URL with the state's query parameters."""
    base = str(st.context.url or "").split("?")[0]
    query = urlencode(state.filters_only().to_query_params())
    return f"{base}?{query}" if query else base


def _page_start(total: int, every_download: bool = True) -> int:
    if total <= PAGE_SIZE:
        return 0
    pages = -(-total // PAGE_SIZE)
    number = st.number_input(
        f"Page (of {pages:,}; {PAGE_SIZE:,} rows each)",
        min_value=1,
        max_value=pages,
        step=1,
        key=KEYS.data_page,
    )
    start = (int(number) - 1) * PAGE_SIZE
    held = "The downloads hold" if every_download else "The export command below the buttons writes"
    st.caption(f"Rows {start + 1:,}-{min(start + PAGE_SIZE, total):,} of {total:,}. {held} all {total:,}.")
    return start


render(current_context())
