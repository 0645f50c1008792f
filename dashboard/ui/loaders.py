"""Cached loaders: the only place the app caches, and the seam between files and pages.

The reference geodata and the shipped events table are read-only and shared by every session,
so they live in `st.cache_resource` (no pickled copy per call). An uploaded table belongs to one
session: it is validated and kept in that session's state only, never in a shared cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from dashboard.data import DEFAULT_SOURCES
from dashboard.dataset import Dataset, build_dataset, load_reference_and_sources
from dashboard.geo import GEODATA_DIR

UPLOAD_KEY = "uploaded_dataset"


@st.cache_resource(show_spinner="Loading country shapes and sources…")
def reference_and_sources(geodata: str = str(GEODATA_DIR), sources: str = str(DEFAULT_SOURCES)):
    return load_reference_and_sources(geodata, sources)


@st.cache_resource(show_spinner="Loading and checking the events table…", max_entries=8)
def _dataset_from_path(path: str, mtime_ns: int, size: int) -> Dataset:
    # mtime and size are part of the key so that an edited file is read again.
    reference, sources, problems = reference_and_sources()
    return build_dataset(path, reference, sources, problems)


def dataset_from_path(path: Path) -> Dataset:
    try:
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = (0, 0)  # build_dataset reports the unreadable file as a problem
    return _dataset_from_path(str(path), *key)


def dataset_from_upload(name: str, raw: bytes) -> Dataset:
    """Validate an uploaded table once per content, kept in this session only."""
    digest = hashlib.sha256(raw).hexdigest()
    held = st.session_state.get(UPLOAD_KEY)
    if held is not None and held[0] == digest:
        return held[1]
    reference, sources, problems = reference_and_sources()
    dataset = build_dataset(raw, reference, sources, problems, name=name)
    st.session_state[UPLOAD_KEY] = (digest, dataset)
    return dataset


def forget_upload() -> None:
    st.session_state.pop(UPLOAD_KEY, None)
