"""Figure downloads for the Map and Timeline pages: PNG and SVG, built only when clicked.

`st.download_button(data=callable)` (Streamlit 1.67) calls the function when the button is
clicked, in a thread of its own, so a page rerun pays nothing for a figure and matplotlib is
imported on the first click, not with the page. Everything the figure needs is captured now:
`st.context` cannot be read from that thread.
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from dashboard.filters import FilterState
from dashboard.package import FIGURE_FORMATS, figure_file_name, permalink
from dashboard.ui.context import PageContext


def _figure(view: str, ctx: PageContext, state: FilterState, fmt: str, link: str) -> bytes:
    from dashboard.figures import figure_today  # matplotlib: loaded on the first click only

    # Drawn on the click from the engine's counts and aggregates: the rows are never read.
    return figure_today(view, ctx.selection, ctx.dataset, state, fmt=fmt, permalink=link)


def figure_buttons(
    ctx: PageContext, view: str, state: FilterState | None = None, *, stacked: bool = False
) -> None:
    """ "Download figure (PNG)" and "(SVG)" of `view` (a map mode or "timeline") for the filters.

    `state` is the page's state with its map mode (view, members) when it differs from the
    context's; the figure's link reopens that view. `stacked` puts the buttons one under the
    other (a narrow column), else side by side.
    """
    state = (state or ctx.state).replace(event="")
    link = permalink(str(st.context.url or ""), state)
    if stacked:
        columns = [st.container() for _ in FIGURE_FORMATS]
    else:
        # A row that wraps, each button as wide as its label: fixed columns cut labels at 800 px.
        row = st.container(horizontal=True)
        columns = [row for _ in FIGURE_FORMATS]
    for column, (fmt, mime) in zip(columns, FIGURE_FORMATS.items(), strict=False):
        column.download_button(
            f"Download figure ({fmt.upper()})",
            data=partial(_figure, view, ctx, state, fmt, link),
            file_name=figure_file_name(view, fmt),
            mime=mime,
            help="This view as a print figure: title, legend, filters, sources and citation"
            + (" (at least 2,000 px wide)." if fmt == "png" else " (text kept as text)."),
            width="stretch" if stacked else "content",
            on_click="ignore",
            key=f"figure-{view}-{fmt}",
        )
