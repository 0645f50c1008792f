"""Cached loaders: the only place the app caches, and the seam between files and pages.

The reference geodata and the shipped events table are read-only and shared by every session,
so they live in `st.cache_resource` (no pickled copy per call). A large table is checked once and
then kept as Parquet on disk (`dashboard.dataset`), so a fresh process reads it back in seconds;
while it loads, the page shows a progress bar. An uploaded table belongs to one
session: it is validated (an ACLED or GDELT file converted first) and kept in that session's
state only, never in a shared cache.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import streamlit as st

from dashboard import importers
from dashboard.data import DEFAULT_SOURCES, load_sources
from dashboard.dataset import Dataset, build_dataset, geodata_path, load_reference_and_sources, sources_path
from dashboard.importers import ImportReport
from dashboard.ui.state import KEYS

#: Tables from this size up show a status box and a progress bar while they load.
PROGRESS_MIN_BYTES = 1_000_000


def reference_and_sources():
    """The reference folder ($SUMMIT_ATLAS_GEODATA or geodata/) and sources, read once per folder."""
    return _reference_and_sources(str(geodata_path()), str(DEFAULT_SOURCES))


@st.cache_resource(show_spinner="Loading country shapes and sources…")
def _reference_and_sources(geodata: str, sources: str):
    return load_reference_and_sources(geodata, sources)


@st.cache_resource(show_spinner=False, max_entries=8)
def _dataset_slot(path: str, mtime_ns: int, size: int, ctime_ns: int, reference: str) -> dict:
    """A shared holder per file version. Size, mtime and ctime are in the key so an edited file
    is read again: a same-size edit with its mtime set back still changes the ctime, which no
    user call can restore. The reference data's fingerprint is in it too (another geodata folder).

    The dataset is built outside the cached function, so the build can draw its progress bar.
    """
    return {"lock": threading.Lock()}


def dataset_from_path(path: Path) -> Dataset:
    """A table given by path, checked against the sources.csv beside it if it has one."""
    reference, sources, problems = reference_and_sources()
    try:
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ctime_ns)
    except OSError:
        key = (0, 0, 0)  # build_dataset reports the unreadable file as a problem
    slot = _dataset_slot(str(path), *key, reference.fingerprint())
    if "dataset" not in slot:
        with slot["lock"]:
            if "dataset" not in slot:
                own = sources_path(path)
                if own != DEFAULT_SOURCES:
                    sources, problems = load_sources(own)
                slot["dataset"] = _with_progress(
                    key[1],
                    path.name,
                    lambda progress: build_dataset(path, reference, sources, problems, progress=progress),
                )
    return slot["dataset"]


def _with_progress(size: int, name: str, build):
    """Run `build(progress)`: a small table quietly, a large one under a status and progress bar."""
    if size < PROGRESS_MIN_BYTES:
        with st.spinner("Loading and checking the events table…"):
            return build(None)
    holder = st.empty()
    label = f"Loading {name} ({size / 1e6:,.0f} MB)…"
    with holder.container(), st.status(label, expanded=True) as status:
        bar = st.progress(0.0, text="Starting…")
        dataset = build(lambda fraction, text: bar.progress(min(max(fraction, 0.0), 1.0), text=text))
        # A large table stays in its checked Parquet file: the pages ask the engine over it.
        bar.progress(1.0, text="Listing the table's years, countries and organisations…")
        dataset.vocabulary()
        status.update(label=f"Loaded {name}", state="complete")
    holder.empty()  # the indicator is for the wait only
    return dataset


def dataset_from_upload(name: str, raw: bytes) -> Dataset:
    """Validate an uploaded table once per content, kept in this session only.

    An ACLED or GDELT file is converted first, exactly as `python -m dashboard import` does,
    and checked against its own one-row sources table (the file it came from).
    """
    digest = hashlib.sha256(raw).hexdigest()
    held = st.session_state.get(KEYS.uploaded_dataset)
    if held is not None and held[0] == digest:
        return held[1]
    reference, sources, problems = reference_and_sources()
    kind = importers.sniff(raw[:65536])
    report = None

    def build(progress):
        nonlocal report
        if kind is None:
            return build_dataset(raw, reference, sources, problems, name=name, progress=progress)
        half = (lambda f, text: progress(f / 2, text)) if progress else None
        events, result = importers.convert_bytes(kind, raw, name, reference, progress=half)
        report = result.report
        rest = (lambda f, text: progress(0.5 + f / 2, text)) if progress else None
        return build_dataset(events, reference, result.sources, (), name=name, progress=rest)

    dataset = _with_progress(len(raw), name, build)
    st.session_state[KEYS.uploaded_dataset] = (digest, dataset, report)
    return dataset


def upload_import_report() -> ImportReport | None:
    """What converting this session's upload did, if it was an ACLED or GDELT file."""
    held = st.session_state.get(KEYS.uploaded_dataset)
    return held[2] if held is not None else None


def forget_upload() -> None:
    st.session_state.pop(KEYS.uploaded_dataset, None)
