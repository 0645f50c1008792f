"""The sidebar and the URL: one `FilterState` per session, mirrored in the query string.

On a session's first run the state comes from the URL (untrusted: invalid values are dropped
with a notice). Widgets are seeded from the state, and every run writes the state back to the
URL, so any view can be shared by copying the address bar. Pages change the state only through
`commit`.
"""

from __future__ import annotations

import streamlit as st

from dashboard.dataset import Dataset
from dashboard.filters import PARAMS, FilterState, Vocabulary
from dashboard.schema import CATEGORIES

STATE_KEY = "filter_state"
NOTICES_KEY = "url_notices"
WIDGETS = {
    "years": "w_years",
    "categories": "w_category",
    "orgs": "w_org",
    "countries": "w_country",
    "articles": "w_article",
    "q": "w_q",
}


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


def _seed(key: str, value) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def _reset() -> None:
    for key in WIDGETS.values():
        st.session_state.pop(key, None)
    old = st.session_state.get(STATE_KEY, FilterState())
    st.session_state[STATE_KEY] = FilterState(view=old.view, members=old.members)


def sidebar_filters(dataset: Dataset, sb) -> FilterState:
    """Draw the filter widgets into the sidebar container `sb`; return the state they describe."""
    vocab = dataset.vocabulary()
    state = current(vocab)
    ref = dataset.reference
    lo, hi = vocab.year_min, vocab.year_max
    _seed(WIDGETS["years"], state.years or (lo, hi))
    _seed(WIDGETS["categories"], list(state.categories))
    _seed(WIDGETS["orgs"], list(state.orgs))
    _seed(WIDGETS["countries"], list(state.countries))
    _seed(WIDGETS["articles"], list(state.articles))
    _seed(WIDGETS["q"], state.q)

    sb.header("Filters")
    if lo < hi:
        years = sb.slider("Years", min_value=lo, max_value=hi, key=WIDGETS["years"])
    else:
        years = (lo, hi)
        sb.caption(f"All dated events are from {lo}.")
    categories = sb.multiselect(
        "Kinds of event", list(CATEGORIES), key=WIDGETS["categories"], placeholder="All kinds"
    )
    used_orgs = set(dataset.codes_in_use("organisations"))
    org_options = sorted(used_orgs | set(st.session_state[WIDGETS["orgs"]]), key=str.lower)
    orgs = sb.multiselect(
        "Organisations and forums",
        org_options,
        key=WIDGETS["orgs"],
        format_func=lambda a: f"{a} · {ref.org_names.get(a, a)}" if ref.org_names.get(a, a) != a else a,
        placeholder="All organisations",
    )
    names = ref.country_names
    used = set(dataset.codes_in_use("participants")) | set(dataset.codes_in_use("country_iso3"))
    country_options = sorted(
        used | set(st.session_state[WIDGETS["countries"]]), key=lambda c: names.get(c, c)
    )
    countries = sb.multiselect(
        "Countries",
        country_options,
        key=WIDGETS["countries"],
        format_func=lambda c: names.get(c, c),
        placeholder="All countries",
        help="Events where the country takes part or is the place.",
    )
    titles = dict(zip(dataset.sources["article"], dataset.sources["title"], strict=True))
    articles = sb.multiselect(
        "Source article",
        sorted(titles),
        key=WIDGETS["articles"],
        format_func=lambda a: f"{a}. {titles.get(a, '')}",
        placeholder="All articles",
    )
    q = sb.text_input(
        "Search text", key=WIDGETS["q"], max_chars=200, placeholder="title, summary, evidence or place"
    )
    sb.button("Reset filters", on_click=_reset, width="stretch")

    new = state.replace(
        years=None if tuple(years) == (lo, hi) else (int(years[0]), int(years[1])),
        categories=tuple(c for c in CATEGORIES if c in categories),
        orgs=tuple(orgs),
        countries=tuple(countries),
        articles=tuple(sorted(int(a) for a in articles)),
        q=" ".join(q.split()),
    )
    commit(new)
    return new


def url_notices() -> tuple[str, ...]:
    return st.session_state.get(NOTICES_KEY, ())
