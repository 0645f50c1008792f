"""Importers: other event datasets (ACLED, GDELT 2.0) converted into our events schema.

`python -m dashboard import acled|gdelt FILE -o DIR` writes `DIR/events.csv` and
`DIR/sources.csv`, which `python -m dashboard validate DIR/events.csv` accepts, and prints what
happened to every input row: read, written, not covered by the category crosswalk (counted by
code), skipped for another reason (each with its line; all of them in `DIR/skipped.csv`). The
sidebar uploader recognises both formats (`sniff`) and converts them the same way in memory.
Field mappings: the docstrings of `acled.py` and `gdelt.py`, and docs/imports.md.
"""

from __future__ import annotations

import argparse
import io
import os
from collections.abc import Callable
from pathlib import Path

from dashboard.geo import GEODATA_DIR, Reference, load_reference
from dashboard.importers import acled, gdelt
from dashboard.importers.common import ImportReport, ImportResult, Progress, sources_bytes

#: Format name -> its converter. Adding a format means adding one module and one entry here.
FORMATS: dict[str, Callable[..., ImportResult]] = {"acled": acled.convert, "gdelt": gdelt.convert}

__all__ = ["FORMATS", "ImportReport", "ImportResult", "convert_bytes", "run_import", "sniff"]


def sniff(head: bytes) -> str | None:
    """The format of a file from its first bytes: 'acled', 'gdelt', or None (our own schema)."""
    lines = head.decode("utf-8-sig", errors="replace").split("\n")[:5]
    if acled.is_acled_header(lines[0]):
        return "acled"
    # A GDELT file has no header; its first line may be the garbled one, so look at a few.
    complete = lines[:-1] if len(lines) > 1 else lines
    if any(gdelt.is_gdelt_line(line) for line in complete):
        return "gdelt"
    return None


def convert_bytes(
    kind: str, raw: bytes, name: str, reference: Reference, progress: Progress | None = None
) -> tuple[bytes, ImportResult]:
    """Convert a file held in memory (an upload): the events CSV's bytes and the result."""
    out = io.BytesIO()
    result = FORMATS[kind](
        io.BytesIO(raw),
        out,
        name=name,
        reference=reference,
        size=len(raw),
        progress=progress,
        command=f"the dashboard's uploader ({kind})",
    )
    return out.getvalue(), result


def run_import(
    kind: str,
    path: Path | str,
    out_dir: Path | str,
    *,
    reference: Reference | None = None,
    geodata: Path | str = GEODATA_DIR,
    progress: Progress | None = None,
) -> ImportResult:
    """Convert the file at `path` into `out_dir`/events.csv, sources.csv and skipped.csv.

    Files are written under temporary names and renamed at the end, so an interrupted import
    leaves no half-written events.csv behind.
    """
    path, out_dir = Path(path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reference = reference or load_reference(geodata)
    targets = {n: out_dir / n for n in ("events.csv", "sources.csv", "skipped.csv")}
    temps = {n: p.with_name(f".{p.name}.{os.getpid()}.tmp") for n, p in targets.items()}
    try:
        with (
            path.open("rb") as source,
            temps["events.csv"].open("wb") as events,
            temps["skipped.csv"].open("w", encoding="utf-8", newline="") as skipped,
        ):
            result = FORMATS[kind](
                source,
                events,
                name=path.name,
                reference=reference,
                geodata=Path(geodata),
                size=path.stat().st_size,
                problems_out=skipped,
                progress=progress,
            )
        temps["sources.csv"].write_bytes(sources_bytes(result.sources))
        for name, temp in temps.items():
            os.replace(temp, targets[name])
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
    return result


# ----- command line (registered by dashboard/cli.py) ---------------------------------------


def add_command(sub) -> None:
    """Add `import FORMAT FILE -o DIR` to the CLI's subcommands."""
    cmd = sub.add_parser("import", help="convert an ACLED or GDELT 2.0 file into events.csv + sources.csv")
    cmd.add_argument("format", choices=sorted(FORMATS), help="the file's dataset")
    cmd.add_argument("file", help="the dataset file (ACLED CSV export; GDELT 2.0 *.export.CSV)")
    cmd.add_argument("-o", "--output", required=True, help="folder to write events.csv and sources.csv to")
    cmd.add_argument(
        "--geodata", help="folder of reference geodata (default: geodata/, or $SUMMIT_ATLAS_GEODATA)"
    )


def run_command(args: argparse.Namespace) -> int:
    """Run `import`; exit 1 if the file could not be read as that format, else 0."""
    from dashboard.dataset import geodata_path  # dataset imports the CLI's world; keep this module light

    try:
        result = run_import(args.format, args.file, args.output, geodata=geodata_path(args.geodata))
    except OSError as exc:
        print(f"{args.file}: cannot import: {exc}")
        return 1
    for line in result.report.lines():
        print(line)
    out = Path(args.output)
    if result.report.fatal:
        return 1
    print(f"wrote {out / 'events.csv'}, {out / 'sources.csv'} and {out / 'skipped.csv'}")
    return 0
