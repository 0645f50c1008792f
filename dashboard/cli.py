"""Command line: `python -m dashboard validate [PATH]`, `export ...` and `import acled|gdelt FILE -o DIR`.

`export` runs the same load -> filter -> export path as the dashboard's download buttons, so
for the same filters it writes the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboard.data import DEFAULT_SOURCES
from dashboard.dataset import load_dataset
from dashboard.export import to_csv_bytes, to_geojson_bytes
from dashboard.filters import FilterState
from dashboard.geo import GEODATA_DIR
from dashboard.importers import add_command as add_import_command
from dashboard.importers import run_command as run_import_command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--sources",
            help="sources.csv to check articles against (default: the sources.csv beside the events "
            f"table, else {DEFAULT_SOURCES.name})",
        )
        p.add_argument("--geodata", default=str(GEODATA_DIR), help="folder of reference geodata")

    validate = sub.add_parser("validate", help="check an events table; exit 1 if anything is wrong")
    validate.add_argument("path", nargs="?", help="events CSV (default: events.csv, or $SUMMIT_ATLAS_EVENTS)")
    common(validate)

    export = sub.add_parser("export", help="write the filtered events as CSV or GeoJSON")
    export.add_argument("--events", help="events CSV (default: events.csv, or $SUMMIT_ATLAS_EVENTS)")
    for key, text in (
        ("years", "year or range, e.g. 2010-2019"),
        ("category", "categories, comma-separated"),
        ("org", "organisation acronyms, comma-separated"),
        ("country", "ISO3 codes, comma-separated"),
        ("article", "article numbers, comma-separated"),
        ("q", "free-text search"),
    ):
        export.add_argument(f"--{key}", help=text)
    export.add_argument("--format", choices=("csv", "geojson"), default="csv")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    common(export)
    add_import_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "import":
        return run_import_command(args)
    dataset = load_dataset(
        getattr(args, "path", None) or getattr(args, "events", None), args.geodata, args.sources
    )
    result = dataset.result
    problems = list(dataset.source_problems) + list(result.problems)

    if args.command == "validate":
        for problem in problems:
            print(f"{problem}" + ("" if problem.severity == "error" else " (warning: row kept)"))
        print(result.summary(dataset.label), file=sys.stderr if problems else sys.stdout)
        return 1 if problems else 0

    params = {k: getattr(args, k) for k in ("years", "category", "org", "country", "article", "q")}
    state, notices = FilterState.from_query_params(
        {k: v for k, v in params.items() if v is not None}, dataset.vocabulary()
    )
    for notice in notices:
        print(f"ignored: {notice}", file=sys.stderr)
    if problems:
        print(f"{result.summary(dataset.label)} (run validate for details)", file=sys.stderr)
    rows = state.apply(dataset.events)
    payload = to_csv_bytes(rows) if args.format == "csv" else to_geojson_bytes(rows)
    if args.output:
        Path(args.output).write_bytes(payload)
        print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(payload)
    return 0
