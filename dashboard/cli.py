"""Command line: `python -m dashboard validate [PATH]`, `export ...`, `figure ...`, `verify PAGE`
and `import acled|gdelt FILE -o DIR` (`dashboard.importers`).

`export` runs the same load -> filter -> export path as the dashboard's download buttons, so
for the same filters it writes the same bytes. Its filter flags come from the filter table
(`filters.FIELDS`) and its formats from the export registry (`export.FORMATS`). `figure`
draws a map mode or the timeline as the pages' figure buttons do (`dashboard.figures`).

Nothing here reads the table into memory: `export` asks the engine for the selected rows and
streams the format's writer to the output in batches, `figure` draws from the engine's counts
and aggregates, and `verify` reads the three columns it checks in batches. So a 10M-row table
exports in bounded memory, and `export_command` gives the command that re-creates a selection
(the Data page shows it for selections too large to download in the browser).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

from dashboard.data import DEFAULT_SOURCES, Problem
from dashboard.dataset import ENV_GEODATA, geodata_path, load_dataset
from dashboard.engine import for_dataset
from dashboard.export import FORMATS, ExportContext
from dashboard.filters import FIELDS, FilterState
from dashboard.formatting import plural
from dashboard.importers import add_command as add_import_command
from dashboard.importers import run_command as run_import_command
from dashboard.package import FIGURE_FORMATS, FIGURE_VIEWS, page_url, permalink
from dashboard.reference import ReferenceDataError
from dashboard.verify import verify_page


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--sources",
            help="sources.csv to check articles against (default: the sources.csv beside the events "
            f"table, else {DEFAULT_SOURCES.name})",
        )
        p.add_argument(
            "--geodata", help=f"folder of reference geodata (default: geodata/, or ${ENV_GEODATA})"
        )

    validate = sub.add_parser("validate", help="check an events table; exit 1 if anything is wrong")
    validate.add_argument("path", nargs="?", help="events CSV (default: events.csv, or $SUMMIT_ATLAS_EVENTS)")
    common(validate)

    export = sub.add_parser("export", help="write the filtered events in one of the export formats")
    export.add_argument("--events", help="events CSV (default: events.csv, or $SUMMIT_ATLAS_EVENTS)")
    add_filter_flags(export)
    export.add_argument(
        "--format",
        choices=tuple(FORMATS),
        default="csv",
        help="; ".join(f"{f.key}: {f.help}" for f in FORMATS.values()),
    )
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    export.add_argument("--url", help="the app's address, to cite the view's link in a data package")
    common(export)

    figure = sub.add_parser("figure", help="draw a map mode or the timeline of the filtered events")
    figure.add_argument("--events", help="events CSV (default: events.csv, or $SUMMIT_ATLAS_EVENTS)")
    figure.add_argument("--view", choices=FIGURE_VIEWS, default="summits")
    figure.add_argument("--members", help="partnerships: colour the member states of this organisation")
    add_filter_flags(figure)
    figure.add_argument("-o", "--output", required=True, help="FILE.png or FILE.svg (the suffix picks)")
    figure.add_argument("--url", help="the app's address, to cite the view's link in the figure")
    common(figure)

    verify = sub.add_parser("verify", help="check every evidence phrase against a copy of the source page")
    verify.add_argument("page", help="the source page as a text file (see README: Where the data comes from)")
    verify.add_argument("--events", help="events CSV (default: events.csv, or $SUMMIT_ATLAS_EVENTS)")
    common(verify)
    add_import_command(sub)
    return parser


def add_filter_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per filter field that selects rows, as the URL spells it (`--country SGP`)."""
    for f in FIELDS:
        if not f.cli:
            continue
        if f.widget == "toggle":
            parser.add_argument(f"--{f.param}", action="store_const", const="1", help=f.help)
        else:
            # Repeated flags add up, as a key repeated in the URL does (`--country RUS --country PRK`).
            parser.add_argument(f"--{f.param}", action="append", help=f"{f.help}; may be repeated")


def export_command(state: FilterState, fmt: str = "csv", output: str | None = None) -> str:
    """The `python -m dashboard export` command that writes `state`'s rows in format `fmt`, its
    flags from the filter table, every word quoted for a POSIX shell (`shlex.quote`): text from
    the URL or the data is an argument, never shell syntax. A value that starts with `-` is
    joined to its flag (`--q=-x`), so argparse cannot read it as a flag."""
    words = ["python", "-m", "dashboard", "export", "--format", fmt, "-o", output or FORMATS[fmt].file_name()]
    for f in FIELDS:
        value = getattr(state, f.name)
        if not f.cli or value == getattr(FilterState(), f.name):
            continue
        if f.widget == "toggle":
            words.append(f"--{f.param}")
            continue
        text = f.write(value)
        words += [f"--{f.param}={text}"] if text.startswith("-") else [f"--{f.param}", text]
    return shlex.join(words)


def filter_state(args: argparse.Namespace, vocabulary) -> FilterState:
    """The filter flags as a state, through the URL parser: the same rules, the same notices."""
    params = {f.param: getattr(args, f.param) for f in FIELDS if f.cli and getattr(args, f.param) is not None}
    state, notices = FilterState.from_query_params(params, vocabulary)
    for notice in notices:
        print(f"ignored: {notice}", file=sys.stderr)
    return state


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "import":
        return run_import_command(args)
    geodata = geodata_path(args.geodata)
    loading = _Progress(sys.stderr)
    try:
        dataset = load_dataset(
            getattr(args, "path", None) or getattr(args, "events", None),
            geodata,
            args.sources,
            progress=loading,
        )
    except ReferenceDataError as exc:
        loading.done()
        # The reference data's fault, named as such: no events table is checked against it.
        out = sys.stdout if args.command == "validate" else sys.stderr  # never into an export
        for problem in exc.problems:
            print(_line(problem), file=out)
        print(
            f"{geodata.name}: the reference data cannot be used; no events table was checked", file=sys.stderr
        )
        return 1
    loading.done()
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

    if args.command == "verify":
        return _verify(Path(args.page), dataset)

    state = filter_state(args, dataset.vocabulary())
    if problems:
        print(f"{result.summary(dataset.label)} (run validate for details)", file=sys.stderr)
    if reference_problems:
        summary = _reference_summary(dataset.reference.label, reference_problems)
        print(f"{summary} (run validate for details)", file=sys.stderr)
    rows = state.selection(dataset.engine())  # in the engine: counted, aggregated, read in batches
    if args.command == "figure":
        return _figure(args, dataset, state, rows)
    link = permalink(page_url(args.url, "data"), state.filters_only()) if args.url else ""
    fmt = FORMATS[args.format]
    context = ExportContext(dataset, state, permalink=link)
    if not args.output:
        return _stream_to_stdout(lambda out: fmt.stream(rows, context, out))
    written = _Progress(sys.stderr, what=args.output)
    if not _write(args.output, lambda out: fmt.stream(rows, context, _Counted(out, written))):
        return 2
    written.done()
    print(f"wrote {rows.count():,} rows to {args.output}", file=sys.stderr)
    return 0


def _stream_to_stdout(write) -> int:
    """Write to standard output; through a temporary file when it cannot seek (a pipe), so a
    ZIP is the same bytes as written to a file (ZipFile seeks back to finish each member)."""
    out = sys.stdout.buffer
    try:
        seekable = out.seekable()
    except (OSError, ValueError):
        seekable = False
    if seekable:
        write(out)
    else:
        with tempfile.TemporaryFile() as spool:
            write(spool)
            spool.seek(0)
            shutil.copyfileobj(spool, out, 1 << 20)
    out.flush()
    return 0


def _figure(args: argparse.Namespace, dataset, state: FilterState, rows) -> int:
    """`figure`: the output's suffix picks PNG or SVG; a map mode's figure links to that mode."""
    from dashboard.figures import figure_today  # matplotlib loads only when drawing

    fmt = Path(args.output).suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        print(f"{args.output}: a figure file name ends in .png or .svg", file=sys.stderr)
        return 2
    page = "timeline" if args.view == "timeline" else "map"
    if page == "map":
        mode, notices = FilterState.from_query_params(
            {"view": args.view, "members": args.members or ""}, dataset.vocabulary()
        )
        for notice in notices:
            print(f"ignored: {notice}", file=sys.stderr)
        state = state.replace(view=mode.view, members=mode.members)
    link = permalink(page_url(args.url, page), state) if args.url else ""
    payload = figure_today(args.view, rows, dataset, state, fmt=fmt, permalink=link)
    if not _write(args.output, lambda out: out.write(payload)):
        return 2
    print(f"wrote the {args.view} figure of {rows.count()} rows to {args.output}", file=sys.stderr)
    return 0


class _Progress:
    """Progress of a long step on a terminal's stderr, one line redrawn at most twice a second
    (a 10M-row check or export takes minutes); silent when stderr is a file or a pipe, so logs
    and tests hold only the outcome."""

    def __init__(self, stream, what: str = "") -> None:
        self.stream, self.what = stream, what  # `what`: the file being written, for `wrote`
        self.live = bool(getattr(stream, "isatty", lambda: False)())
        self._last = 0.0
        self._shown = False

    def __call__(self, fraction: float | None, text: str) -> None:
        now = time.monotonic()
        if not self.live or now - self._last < 0.5:
            return
        self._last, self._shown = now, True
        share = "" if fraction is None else f"{max(0.0, min(fraction, 1.0)):4.0%} "
        self.stream.write(f"\r\x1b[K{share}{text}")
        self.stream.flush()

    def wrote(self, size: int) -> None:
        self(None, f"{self.what}: {size / 1e6:,.0f} MB written…")

    def done(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


class _Counted:
    """A binary file that tells `progress` how many bytes have gone through it (everything
    else, seeking included, is the file's own)."""

    def __init__(self, out, progress: _Progress) -> None:
        self._out, self._progress, self._size = out, progress, 0

    def write(self, data) -> int:
        n = self._out.write(data)
        self._size += len(data)
        self._progress.wrote(self._size)
        return n

    def __getattr__(self, name):
        return getattr(self._out, name)


def _write(output: str, write) -> bool:
    """Open an output file and `write(file)` into it; a path that cannot be written is named,
    with the reason, not a traceback (a regular file left half written is removed)."""
    path = Path(output)
    try:
        out = path.open("wb")
    except OSError as exc:
        print(f"{output}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return False
    try:
        with out:
            write(out)
    except OSError as exc:  # a full disk, a file system gone: no half file left behind
        print(f"{output}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        if path.is_file():
            path.unlink(missing_ok=True)
        return False
    return True


def _verify(page: Path, dataset) -> int:
    try:
        raw = page.read_bytes()
    except OSError as exc:
        print(f"{page}: cannot read the page: {exc}", file=sys.stderr)
        return 2
    report = verify_page(raw, _evidence(dataset), dataset.sources)
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def _evidence(dataset):
    """The rows `verify` checks: the checked frame when it is in memory (a small table, in the
    file's order), else the three columns it reads, in batches from the engine (a large table's
    Parquet file, in the views' order, as its frame would be), never the whole table."""
    if dataset.loaded is not None or dataset.parquet is None:
        return dataset.result.frame
    return for_dataset(dataset).batches(columns=["event_id", "article", "evidence"])


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
