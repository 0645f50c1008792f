"""What every page receives: the dataset, the filter state and the rows it selects."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard.dataset import Dataset
from dashboard.filters import FilterState
from dashboard.ui.state import KEYS


@dataclass(frozen=True, eq=False)
class PageContext:
    dataset: Dataset
    state: FilterState
    rows: pd.DataFrame  # the filtered, enriched events
    tiles: bool = False

    @property
    def sentence(self) -> str:
        return self.state.describe(self.dataset.reference.country_names)

    def caption(self) -> str:
        n, total = len(self.rows), len(self.dataset.events)
        return f"{self.sentence} {n} of {total} events."


def set_context(ctx: PageContext) -> None:
    """Hand this run's context to the page script st.navigation runs next (same session)."""
    st.session_state[KEYS.page_context] = ctx


def current_context() -> PageContext:
    return st.session_state[KEYS.page_context]
