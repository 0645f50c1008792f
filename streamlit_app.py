"""Summit Atlas entry point (Streamlit Community Cloud's main file).

Run: `streamlit run streamlit_app.py [-- --events PATH]`. Everything else lives in `dashboard`.
"""

import argparse
import sys

from dashboard.ui.app import main


def _cli_events() -> str | None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--events")
    known, _ = parser.parse_known_args(sys.argv[1:])
    return known.events


main(_cli_events())
