"""The sidebar and the URL: one `FilterState` per session, mirrored in the query string.

On a session's first run the state comes from the URL (untrusted: invalid values are dropped
with a notice). The sidebar's widgets are drawn from the filter table (`filters.FIELDS`), one
widget per field that has one, seeded from the state; every run writes the state back to the
URL, so any view can be shared by copying the address bar. Pages change the state only through
`commit`, and every `session_state` key the app uses is named here.
"""

from __future__ import annotations

from types import SimpleNamespace

import streamlit as st

from dashboard.dataset import Dataset
from dashboard.filters import FIELDS, PARAMS, Field, FilterState, Vocabulary

STATE_KEY = "filter_state"
NOTICES_KEY = "url_notices"
#: The widget of each filter field, by field name: `w_<url parameter>`.
WIDGETS: dict[str, str] = {f.name: f"w_{f.param}" for f in FIELDS if f.widget}
#: Every other session_state key of the app: widgets pages draw, and what pages keep.
KEYS = SimpleNamespace(
    view="w_view",
    members="w_members",
    upload="upload",
    uploaded_dataset="uploaded_dataset",
    tiles="w_tiles",
    data_table="data-table",
    data_page="w_data_page",
    clear_event="clear-event",
    page_context="page_context",
)


def map_key(view: str) -> str:
    """The map chart's key: one per mode, so each keeps its own zoom and selection."""
    return f"map-{view}"


def current(vocab: Vocabulary) -> FilterState:
    """The session's state; parsed from the URL on the first run of the session."""
    if STATE_KEY not in st.session_state:
        params = {k: st.query_params.get_all(k) for k in PARAMS if k in st.query_params}
        state, notices = FilterState.from_query_params(params, vocab)
        st.session_state[STATE_KEY] = state
        st.session_state[NOTICES_KEY] = notices
    state = st.session_state[STATE_KEY]
    # The table may have changed (an upload): drop what the new vocabulary does not know.
    revalidated, _ = FilterState.from_query_params(state.to_query_params(), vocab)
    return revalidated


def commit(state: FilterState) -> None:
    """Make `state` the session's state and write it to the URL (other parameters kept)."""
    st.session_state[STATE_KEY] = state
    wanted = state.to_query_params()
    for key in PARAMS:
        if key in wanted:
            if st.query_params.get(key) != wanted[key] or len(st.query_params.get_all(key)) > 1:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]


def clear_event() -> None:
    """Drop the selected event (a button's callback)."""
    state = st.session_state.get(STATE_KEY)
    if state is not None:
        st.session_state[STATE_KEY] = state.replace(event="")


def filter_to_country(iso3: str) -> None:
    """Set the country filter to one country (a button's callback)."""
    st.session_state[WIDGETS["countries"]] = [iso3]


def _reset() -> None:
    for key in WIDGETS.values():
        st.session_state.pop(key, None)
    old = st.session_state.get(STATE_KEY, FilterState())
    st.session_state[STATE_KEY] = FilterState(view=old.view, members=old.members)


# ----- one renderer per kind of widget: (draw, read back) ----------------------------------------


def _to_widget(f: Field, value, vocab: Vocabulary):
    if f.widget == "years":
        return value or (vocab.year_min, vocab.year_max)
    if f.widget == "multiselect":
        return list(value)
    return value


def _draw(f: Field, sb, vocab: Vocabulary):
    key = WIDGETS[f.name]
    if f.widget == "years":
        lo, hi = vocab.year_min, vocab.year_max
        if lo < hi:
            return sb.slider(f.label, min_value=lo, max_value=hi, key=key)
        sb.caption(f"All dated events are from {lo}.")
        return (lo, hi)
    if f.widget == "multiselect":
        # Offer what the data uses, plus whatever is selected (a shared URL may name more).
        options = list(dict.fromkeys([*f.options(vocab), *st.session_state[key]]))
        label = f.option_label or (lambda v, _vocab: str(v))
        return sb.multiselect(
            f.label,
            options,
            key=key,
            format_func=lambda v: label(v, vocab),
            placeholder=f.placeholder,
            help=f.help,
        )
    if f.widget == "toggle":
        return sb.toggle(f.label, key=key, help=f.help)
    if f.widget == "text":
        return sb.text_input(f.label, key=key, max_chars=200, placeholder=f.placeholder)
    raise ValueError(f"filter {f.name!r} has an unknown widget kind {f.widget!r}")


def _from_widget(f: Field, value, vocab: Vocabulary):
    """A widget's value in the state's terms, canonical as the URL parser makes it."""
    if f.widget == "years":
        lo, hi = int(value[0]), int(value[1])
        return None if (lo, hi) == (vocab.year_min, vocab.year_max) else (lo, hi)
    if f.widget == "multiselect":
        return f.parse(",".join(str(v) for v in value), vocab)[0] if value else ()
    if f.widget == "toggle":
        return bool(value)
    return f.parse(value or "", vocab)[0]


def sidebar_filters(dataset: Dataset, sb) -> FilterState:
    """Draw the filter widgets into the sidebar container `sb`; return the state they describe."""
    vocab = dataset.vocabulary()
    state = current(vocab)
    sb.header("Filters")
    changes = {}
    for f in FIELDS:
        if not f.widget:
            continue
        st.session_state.setdefault(WIDGETS[f.name], _to_widget(f, getattr(state, f.name), vocab))
        changes[f.name] = _from_widget(f, _draw(f, sb, vocab), vocab)
    sb.button("Reset filters", on_click=_reset, width="stretch")
    new = state.replace(**changes)
    commit(new)
    return new


def url_notices() -> tuple[str, ...]:
    return st.session_state.get(NOTICES_KEY, ())
