"""The app's run: choose the events table, draw the sidebar, select its rows, hand over to a page."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.dataset import events_path
from dashboard.formatting import escape_markdown as esc
from dashboard.reference import ReferenceDataError
from dashboard.ui import components, loaders
from dashboard.ui.context import PageContext, set_context
from dashboard.ui.state import KEYS, sidebar_filters, url_notices

PAGES = Path(__file__).resolve().parent / "pages"
MAX_UPLOAD_MB = 20  # keep in step with server.maxUploadSize in .streamlit/config.toml


def main(cli_events: str | None = None) -> None:
    st.set_page_config(page_title="Summit Atlas", page_icon=":material/public:", layout="wide")
    filters_box = st.sidebar.container()
    data_box = st.sidebar.container()

    with data_box:
        st.divider()
        st.subheader("Your own data")
        upload = st.file_uploader(
            "Events table (CSV), or an ACLED or GDELT file",
            type=["csv", "tsv", "txt"],
            key=KEYS.upload,
            help=f"A CSV in the events.csv schema, an ACLED CSV export, or a GDELT 2.0 events file "
            f"(61 tab-separated columns), at most {MAX_UPLOAD_MB} MB. ACLED and GDELT files are "
            "converted as `python -m dashboard import` does. It is validated, used in this browser "
            "session only, and never shared with other users.",
        )
        st.caption(f"Our CSV, ACLED CSV or GDELT events, up to {MAX_UPLOAD_MB} MB; seen by you alone.")
        tiles = st.toggle(
            "Online map tiles",
            key=KEYS.tiles,
            value=False,
            help="Off: the country shapes are the basemap and the map works offline.",
        )

    try:
        if upload is not None:
            dataset = loaders.dataset_from_upload(upload.name, upload.getvalue())
        else:
            loaders.forget_upload()
            dataset = loaders.dataset_from_path(events_path(cli_events))
    except ReferenceDataError as exc:
        # The reference files' fault, listed as such; no events table is checked against them.
        listed = "\n".join(f"- {esc(str(p))}" for p in exc.problems[: components.MAX_PROBLEMS_SHOWN])
        st.error(f"The reference data could not be loaded, so no events table was checked:\n\n{listed}")
        st.stop()
    except (OSError, ValueError) as exc:
        st.error(f"The reference data could not be loaded: {esc(str(exc))}")
        st.stop()

    state = sidebar_filters(dataset, filters_box)
    with data_box:
        result = dataset.result
        st.caption(
            esc(
                f"Using {dataset.label}: {result.rows_loaded:,} events loaded, "
                f"{result.rows_skipped:,} skipped."
            )
        )

    for notice in url_notices():
        st.warning(f"Ignored in the URL: {esc(notice)}", icon=":material/warning:")
    for notice in dataset.notices:
        st.info(esc(notice), icon=":material/cached:")
    components.load_report(dataset)
    report = loaders.upload_import_report() if upload is not None else None
    if report is not None:
        with st.expander(
            esc(f"Converted from {report.dataset}: {report.rows_written:,} of {report.rows_read:,} rows")
        ):
            st.text("\n".join(report.lines()))  # plain text: names from the file never render

    set_context(PageContext(dataset, state, state.selection(dataset.engine()), tiles))
    pages = [
        st.Page(PAGES / "map.py", title="Map", icon=":material/map:", url_path="map", default=True),
        st.Page(PAGES / "timeline.py", title="Timeline", icon=":material/timeline:", url_path="timeline"),
        st.Page(PAGES / "data.py", title="Data", icon=":material/table:", url_path="data"),
        st.Page(PAGES / "sources.py", title="Sources", icon=":material/menu_book:", url_path="sources"),
    ]
    st.navigation(pages, position="top").run()
