"""Time spans: the years events cover, the years control's presets and play steps, and the
window of years the timeline opens on.

An event is present in every year its dated span touches, at the precision the text gives:
`2018` is present in 2018, `2003`-`2008` in each year from 2003 to 2008. Stepping the years filter
one year at a time shows exactly that, since the filter keeps events whose span overlaps the
range (`filters._sql_years`). The counts come from the engine (`year_counts`, `years_present`
take a `Selection` or an enriched frame and get a few hundred rows back, whatever the table's
size); everything else here is pure and works on those.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from dashboard.engine import Selection

#: How play steps the years filter: "year" shows only the step's year, "upto" everything from
#: the start of the played range up to it.
PLAY_MODES: dict[str, str] = {"year": "Only that year", "upto": "Up to that year"}
#: Share of dated events the timeline's opening window holds.
OPENING_SHARE = 0.8
#: A span of start years this short is drawn whole: nothing to set apart.
WHOLE_SPAN_YEARS = 12
#: A decade becomes a preset when it holds this share of dated events (at most two, the busiest);
#: a single year when it holds `YEAR_PRESET_SHARE` (at most three).
DECADE_PRESET_SHARE = 0.25
MAX_DECADE_PRESETS = 2
YEAR_PRESET_SHARE = 0.1
MAX_YEAR_PRESETS = 3


def year_counts(events: pd.DataFrame | Selection) -> dict[int, int]:
    """Dated events per start year, in year order."""
    counts = Selection.of(events).query(
        "SELECT year_start AS year, count(*) AS n FROM sel WHERE year_start IS NOT NULL "
        "GROUP BY year_start ORDER BY year_start"
    )
    return {int(y): int(n) for y, n in zip(counts["year"], counts["n"], strict=True)}


def years_present(events: pd.DataFrame | Selection) -> tuple[int, ...]:
    """Every year that some dated event's span covers, ascending."""
    # Expand the distinct spans only: ten million rows hold a few hundred (start, end) pairs.
    spans = Selection.of(events).query(
        "SELECT DISTINCT year_start AS lo, coalesce(year_end, year_start) AS hi FROM sel "
        "WHERE year_start IS NOT NULL"
    )
    years: set[int] = set()
    for first, last in zip(spans["lo"], spans["hi"], strict=True):
        first, last = int(first), int(last)
        years.update(range(min(first, last), max(first, last) + 1))
    return tuple(sorted(years))


def densest_window(counts: Mapping[int, int], share: float = OPENING_SHARE) -> tuple[int, int] | None:
    """The shortest run of years holding at least `share` of the counted events (the latest on ties)."""
    if not counts:
        return None
    years = np.array(sorted(counts), dtype=int)
    cumulative = np.cumsum([counts[int(y)] for y in years])
    need = math.ceil(share * cumulative[-1])
    best: tuple[int, int] | None = None
    for i, lo in enumerate(years):
        before = cumulative[i - 1] if i else 0
        # The first year j from i whose running total reaches `need`.
        j = int(np.searchsorted(cumulative, before + need))
        if j >= len(years):
            break
        hi = int(years[j])
        if best is None or hi - lo <= best[1] - best[0]:
            best = (int(lo), hi)
    return best


def opening_window(counts: Mapping[int, int]) -> tuple[int, int] | None:
    """The years the timeline opens on: all of them when few, else the densest window."""
    if not counts:
        return None
    lo, hi = min(counts), max(counts)
    if hi - lo < WHOLE_SPAN_YEARS:
        return (lo, hi)
    return densest_window(counts)


def presets(counts: Mapping[int, int], year_min: int, year_max: int) -> dict[str, tuple[int, int]]:
    """Named year ranges for the years control: all, the busy decades and years, and before them.

    Busy means holding a good share of the dated events (`DECADE_PRESET_SHARE`,
    `YEAR_PRESET_SHARE`); "Before <year>" covers what lies before the first of them. Ranges are
    clipped to the data, so evenly spread events get "All" alone.
    """
    out: dict[str, tuple[int, int]] = {"All": (year_min, year_max)}
    total = sum(counts.values())
    if not total or year_min >= year_max:
        return out
    decades: dict[int, int] = {}
    for year, n in counts.items():
        decades[year // 10 * 10] = decades.get(year // 10 * 10, 0) + n
    busy_decades = sorted(_busiest(decades, DECADE_PRESET_SHARE * total, MAX_DECADE_PRESETS))
    busy_years = sorted(_busiest(counts, YEAR_PRESET_SHARE * total, MAX_YEAR_PRESETS))
    starts = busy_decades + busy_years
    first = min(starts) if starts else None
    if first is not None and first > year_min:
        out[f"Before {first}"] = (year_min, first - 1)
    for d in busy_decades:
        out[f"{d}s"] = (max(d, year_min), min(d + 9, year_max))
    for y in busy_years:
        out[str(y)] = (y, y)
    # Two names for one range (a decade holding one year's events only) would show one twice.
    seen: dict[tuple[int, int], str] = {}
    for name, span in list(out.items()):
        if span in seen:
            del out[name]
        else:
            seen[span] = name
    return out


def _busiest(counts: Mapping[int, int], at_least: float, limit: int) -> list[int]:
    """The keys with the highest counts (at least `at_least`), the later first on ties."""
    ranked = sorted(counts, key=lambda k: (-counts[k], -k))
    return [k for k in ranked[:limit] if counts[k] >= at_least]


def step_years(mode: str, start: int, year: int) -> tuple[int, int]:
    """The years filter at one play step: the step's year alone, or from `start` up to it."""
    if mode not in PLAY_MODES:
        raise ValueError(f"play mode {mode!r} is not one of {', '.join(PLAY_MODES)}")
    return (year, year) if mode == "year" else (min(start, year), year)


@dataclass(frozen=True)
class Playback:
    """Where a play through the years stands: its steps, the current one, and whether it runs.

    `index` -1 means not started. The play stops by itself on its last step.
    """

    steps: tuple[int, ...]
    start: int
    end: int
    mode: str = "year"
    index: int = -1
    playing: bool = False

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("a playback needs at least one year to step through")
        if not -1 <= self.index < len(self.steps):
            raise ValueError(f"step {self.index} is outside 0-{len(self.steps) - 1}")
        if self.mode not in PLAY_MODES:
            raise ValueError(f"play mode {self.mode!r} is not one of {', '.join(PLAY_MODES)}")

    @classmethod
    def over(cls, present: tuple[int, ...], lo: int, hi: int, mode: str = "year") -> Playback | None:
        """A playback of the present years within lo-hi, or None when none is present."""
        steps = tuple(y for y in present if lo <= y <= hi)
        return cls(steps, start=lo, end=hi, mode=mode) if steps else None

    @property
    def year(self) -> int | None:
        return self.steps[self.index] if self.index >= 0 else None

    @property
    def at_end(self) -> bool:
        return self.index == len(self.steps) - 1

    def years(self) -> tuple[int, int] | None:
        """The years filter this step sets (None before the first step)."""
        return None if self.year is None else step_years(self.mode, self.start, self.year)

    def moved(self, by: int) -> Playback:
        """`by` steps on (or back), clamped to the steps; the play stops on the last step."""
        index = min(max(self.index + by, 0), len(self.steps) - 1)
        return replace(self, index=index, playing=self.playing and index < len(self.steps) - 1)

    def paused(self) -> Playback:
        return replace(self, playing=False)

    def with_mode(self, mode: str) -> Playback:
        return replace(self, mode=mode)

    def restepped(self, present: tuple[int, ...]) -> Playback | None:
        """The same play over other present years (the filters changed), at the same year or before."""
        steps = tuple(y for y in present if self.start <= y <= self.end)
        if not steps:
            return None
        index = -1 if self.year is None else bisect.bisect_right(steps, self.year) - 1
        return replace(self, steps=steps, index=index)

    def playing_from_here(self) -> Playback:
        """Start or resume: from the next step, or from the first when at the end."""
        index = 0 if self.at_end or self.index < 0 else self.index + 1
        return replace(self, index=index, playing=index < len(self.steps) - 1)
