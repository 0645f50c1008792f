"""What every page receives: the dataset, the filter state and the events it selects.

The selected events stay in the engine (`dashboard.engine.Selection`): a page asks them for a
count, aggregates and a page of rows, and the downloads ask it too (figures its counts and
aggregates, CSV and GeoJSON its rows in batches). `rows` materialises every selected event as
one frame, at most once per run; no page reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd
import streamlit as st

from dashboard.dataset import Dataset
from dashboard.engine import Selection
from dashboard.filters import FilterState
from dashboard.ui.state import KEYS


@dataclass(frozen=True, eq=False)
class PageContext:
    dataset: Dataset
    state: FilterState
    selection: Selection  # the filtered, enriched events, in the engine
    tiles: bool = False

    @cached_property
    def count(self) -> int:
        return self.selection.count()

    @property
    def total(self) -> int:
        return self.selection.engine.total

    @cached_property
    def rows(self) -> pd.DataFrame:
        """Every selected event as a frame (read from the engine when first asked; no page asks)."""
        return self.selection.rows()

    @property
    def sentence(self) -> str:
        return self.state.describe(self.dataset.reference.country_names)

    def caption(self) -> str:
        return f"{self.sentence} {self.count:,} of {self.total:,} events."


def set_context(ctx: PageContext) -> None:
    """Hand this run's context to the page script st.navigation runs next (same session)."""
    st.session_state[KEYS.page_context] = ctx


def current_context() -> PageContext:
    return st.session_state[KEYS.page_context]
