"""Everything one view of the dashboard needs, loaded and joined once: the seam caches wrap.

`load_dataset` reads the reference geodata, the sources and an events table, validates the
table, and does the spatial join. The UI caches its result; the CLI calls it directly, so the
command-line export and the download button run the same code on the same frame.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dashboard.data import DEFAULT_EVENTS, DEFAULT_SOURCES, LoadResult, Problem, load_events, load_sources
from dashboard.filters import Vocabulary
from dashboard.geo import GEODATA_DIR, Reference, enrich, load_reference

ENV_EVENTS = "SUMMIT_ATLAS_EVENTS"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated, enriched events table with the reference data it was checked against."""

    reference: Reference
    sources: pd.DataFrame
    source_problems: tuple[Problem, ...]
    result: LoadResult
    events: pd.DataFrame  # enriched: the frame every view filters
    label: str

    def vocabulary(self) -> Vocabulary:
        years = pd.concat([self.events["year_start"], self.events["year_end"]]).dropna()
        return Vocabulary(
            organisations=self.reference.org_codes,
            countries=self.reference.iso3_codes,
            articles=frozenset(int(a) for a in self.sources["article"]),
            event_ids=frozenset(self.events["event_id"]),
            member_orgs=frozenset(self.reference.orgs_with_members),
            year_min=int(years.min()) if len(years) else 1900,
            year_max=int(years.max()) if len(years) else 2100,
        )


def events_path(cli_path: str | os.PathLike | None = None) -> Path:
    """Which events table to use: the command line, then the environment, then the default."""
    if cli_path:
        return Path(cli_path)
    if os.environ.get(ENV_EVENTS):
        return Path(os.environ[ENV_EVENTS])
    return DEFAULT_EVENTS


def load_reference_and_sources(
    geodata: Path | str = GEODATA_DIR, sources: Path | str = DEFAULT_SOURCES
) -> tuple[Reference, pd.DataFrame, tuple[Problem, ...]]:
    reference = load_reference(geodata)
    frame, problems = load_sources(sources)
    return reference, frame, problems


def build_dataset(
    events_source: Path | str | bytes,
    reference: Reference,
    sources: pd.DataFrame,
    source_problems: tuple[Problem, ...] = (),
    *,
    name: str | None = None,
) -> Dataset:
    articles = frozenset(int(a) for a in sources["article"])
    result = load_events(events_source, reference, articles, name=name)
    enriched = enrich(result.frame, reference)
    enriched.attrs["extra_columns"] = result.extra_columns
    label = name or (Path(events_source).name if not isinstance(events_source, bytes) else "upload")
    return Dataset(reference, sources, source_problems, result, enriched, label)


def load_dataset(
    events_source: Path | str | None = None,
    geodata: Path | str = GEODATA_DIR,
    sources: Path | str = DEFAULT_SOURCES,
) -> Dataset:
    reference, frame, problems = load_reference_and_sources(geodata, sources)
    return build_dataset(events_path(events_source), reference, frame, problems)
