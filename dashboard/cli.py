"""Command line: `python -m dashboard validate [PATH]` and `python -m dashboard export ...`.

`export` runs the same load -> filter -> export path as the dashboard's download buttons, so
for the same filters it writes the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboard.data import DEFAULT_SOURCES, Problem
from dashboard.dataset import ENV_GEODATA, geodata_path, load_dataset
from dashboard.export import to_csv_bytes, to_geojson_bytes
from dashboard.filters import FilterState
from dashboard.formatting import plural
from dashboard.reference import ReferenceDataError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--sources", default=str(DEFAULT_SOURCES), help="sources.csv to check articles against"
        )
        p.add_argument(
            "--geodata", help=f"folder of reference geodata (default: geodata/, or ${ENV_GEODATA})"
        )

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    geodata = geodata_path(args.geodata)
    try:
        dataset = load_dataset(
            getattr(args, "path", None) or getattr(args, "events", None), geodata, args.sources
        )
    except ReferenceDataError as exc:
        # The reference data's fault, named as such: no events table is checked against it.
        out = sys.stdout if args.command == "validate" else sys.stderr  # never into an export
        for problem in exc.problems:
            print(_line(problem), file=out)
        print(
            f"{geodata.name}: the reference data cannot be used; no events table was checked", file=sys.stderr
        )
        return 1
    result = dataset.result
    reference_problems = dataset.reference.problems
    problems = list(dataset.source_problems) + list(result.problems)
    for notice in dataset.notices:
        print(f"note: {notice}", file=sys.stderr)

    if args.command == "validate":
        for problem in (*reference_problems, *problems):  # the reference data's own faults first
            print(_line(problem))
        if reference_problems:
            print(_reference_summary(dataset.reference.label, reference_problems), file=sys.stderr)
        anything = bool(problems or reference_problems)
        print(result.summary(dataset.label), file=sys.stderr if anything else sys.stdout)
        return 1 if anything else 0

    params = {k: getattr(args, k) for k in ("years", "category", "org", "country", "article", "q")}
    state, notices = FilterState.from_query_params(
        {k: v for k, v in params.items() if v is not None}, dataset.vocabulary()
    )
    for notice in notices:
        print(f"ignored: {notice}", file=sys.stderr)
    if problems:
        print(f"{result.summary(dataset.label)} (run validate for details)", file=sys.stderr)
    if reference_problems:
        summary = _reference_summary(dataset.reference.label, reference_problems)
        print(f"{summary} (run validate for details)", file=sys.stderr)
    rows = state.apply(dataset.events)
    payload = to_csv_bytes(rows) if args.format == "csv" else to_geojson_bytes(rows)
    if args.output:
        Path(args.output).write_bytes(payload)
        print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(payload)
    return 0


def _line(problem: Problem) -> str:
    """A problem as validate prints it; a warning says what became of its row (line 0: no row)."""
    if problem.severity == "error":
        return str(problem)
    return f"{problem} (warning{': row kept' if problem.line else ''})"


def _reference_summary(label: str, problems) -> str:
    skipped = sum(p.severity == "error" for p in problems)
    return (
        f"{label}: {plural(len(problems), 'problem')} in the reference data, {plural(skipped, 'row')} skipped"
    )
