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
from dashboard.timespan import PLAY_MODES, Playback, presets, years_present

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
    # The years control: number inputs and presets that follow the slider, and play.
    years_from="w_years_from",
    years_to="w_years_to",
    years_preset="w_years_preset",
    years_pending="years_pending",
    years_drawn="years_drawn",
    browser_behind="browser_behind",
    play_mode="w_play_mode",
    play_back="play-back",
    play_button="play-button",
    play_next="play-next",
    playback="playback",
    play_stepped="play_stepped",
    play_armed="play_armed",
    timeline_context="w_timeline_context",
    # The map column's width, as the browser reports it (see components.chart_width).
    chart_width="map-width",
    # A large download built under a progress bar (pages/data.py), for these filters only.
    prepared_download="prepared_download",
)
#: Seconds between two steps of play: long enough for a browser without a GPU to repaint the map.
PLAY_SECONDS = 2.0


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
        return _draw_years(f, sb, vocab)
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


# ----- the years control: slider, number inputs, presets and play -------------------------------
#
# The slider holds the years. The number inputs and presets are set from it before they are
# drawn, every run; their callbacks write to the slider (callbacks run before the script, when a
# widget's value may still be set). Play (`timespan.Playback`, kept in `KEYS.playback`) steps
# the slider too: its buttons' callbacks set it, and while playing, a fragment on a timer leaves
# the next step in `years_pending` (applied before the slider is drawn) and reruns the app. A full
# run that play did not ask for is the user's doing, and pauses the play.
#
# A browser that has not yet drawn play's last step sends the years it still shows with the next
# message: then the slider and both number inputs "change" at once, which a person cannot do.
# Such an echo is put right, not taken for the user's choice (`_years_changed`).


def _draw_years(f: Field, sb, vocab: Vocabulary):
    key = WIDGETS[f.name]
    lo, hi = vocab.year_min, vocab.year_max
    if lo >= hi:
        sb.caption(f"All dated events are from {lo}.")
        return (lo, hi)
    stepped = st.session_state.pop(KEYS.play_stepped, False)
    pending = st.session_state.pop(KEYS.years_pending, None)
    if pending is not None and stepped:
        st.session_state[key] = _clip(pending, vocab)
    shown = _shown(key)
    playback = st.session_state.get(KEYS.playback)
    if playback is not None and playback.playing and not stepped:
        playback = playback.paused()
    if playback is not None and playback.year is not None and playback.years() != shown:
        playback = None  # the years moved on (Reset filters): the next play starts afresh
    st.session_state[KEYS.playback] = playback
    st.session_state[KEYS.years_drawn] = shown
    named = presets(vocab.year_counts, lo, hi)
    st.session_state[KEYS.years_from], st.session_state[KEYS.years_to] = shown
    st.session_state[KEYS.years_preset] = next((n for n, span in named.items() if span == shown), None)
    value = sb.slider(
        f.label, min_value=lo, max_value=hi, key=key, help=f.help, on_change=_years_changed, args=(key,)
    )
    left, right = sb.columns(2)
    for column, label, widget in ((left, "From", KEYS.years_from), (right, "To", KEYS.years_to)):
        column.number_input(
            label, min_value=lo, max_value=hi, step=1, key=widget, on_change=_years_changed, args=(key,)
        )
    sb.pills(
        "Year presets",
        list(named),
        key=KEYS.years_preset,
        on_change=_years_changed,
        args=(key, named),
        label_visibility="collapsed",
    )
    _draw_play(sb, key, vocab)
    return value


def _shown(key: str) -> tuple[int, int]:
    lo, hi = st.session_state[key]
    return int(lo), int(hi)


def _clip(years, vocab: Vocabulary) -> tuple[int, int]:
    lo, hi = sorted(int(y) for y in years)
    return max(lo, vocab.year_min), min(max(hi, vocab.year_min), vocab.year_max)


def _years_changed(key: str, named: dict[str, tuple[int, int]] | None = None) -> None:
    """A years widget changed: the user's years win over play, unless it is a browser's echo."""
    drawn = st.session_state.get(KEYS.years_drawn)
    typed = (st.session_state.get(KEYS.years_from), st.session_state.get(KEYS.years_to))
    if drawn is not None:
        moved = [_shown(key) != drawn, typed[0] != drawn[0], typed[1] != drawn[1]]
        if sum(moved) > 1:
            st.session_state[key] = drawn
            st.session_state[KEYS.browser_behind] = True
            return
    if named is not None:
        # Clicking the chosen preset again unselects it: the years stay, and so does the preset.
        choice = st.session_state.get(KEYS.years_preset)
        if choice not in named:
            return
        st.session_state[key] = named[choice]
    elif drawn is not None and (typed[0] != drawn[0] or typed[1] != drawn[1]) and None not in typed:
        st.session_state[key] = tuple(sorted(int(y) for y in typed))
    # The user's own years: a step the timer queued is dropped, and a later play starts afresh.
    for gone in (KEYS.years_pending, KEYS.play_stepped, KEYS.playback):
        st.session_state.pop(gone, None)


def _present_years(vocab: Vocabulary) -> tuple[int, ...]:
    """The years play steps through: those some event matching the other filters covers.

    Read in a callback, from the context of the run the user saw (`KEYS.page_context`).
    """
    ctx = st.session_state.get(KEYS.page_context)
    if ctx is None:
        return tuple(range(vocab.year_min, vocab.year_max + 1))
    return years_present(ctx.state.replace(years=None).selection(ctx.dataset.engine()))


def _playback(key: str, vocab: Vocabulary) -> Playback | None:
    """The play under way (its steps as the filters now keep them), or a new one over the slider's range.

    The slider is read only for a new play: it may lag behind one under way (see the echo above).
    """
    playback = st.session_state.get(KEYS.playback)
    if playback is not None:
        return playback.restepped(_present_years(vocab))
    shown = _shown(key)
    # A single year (a preset, a year from the URL) plays the whole range.
    lo, hi = shown if shown[0] < shown[1] else (vocab.year_min, vocab.year_max)
    mode = st.session_state.get(KEYS.play_mode) or "year"
    return Playback.over(_present_years(vocab), lo, hi, mode)


def _show_step(key: str, playback: Playback | None, playing: bool = False) -> None:
    """Show a step of play (from a button's callback); keep it playing or not."""
    st.session_state[KEYS.playback] = playback
    st.session_state.pop(KEYS.years_pending, None)
    st.session_state[KEYS.play_stepped] = playing
    if playback is not None and playback.years() is not None:
        st.session_state[key] = playback.years()


def _toggle_play(key: str, vocab: Vocabulary) -> None:
    playback = _playback(key, vocab)
    if playback is None:
        return
    if playback.playing:
        _show_step(key, playback.paused())
    else:
        playback = playback.playing_from_here()
        _show_step(key, playback, playing=playback.playing)


def _step(key: str, vocab: Vocabulary, by: int) -> None:
    playback = _playback(key, vocab)
    if playback is not None:
        _show_step(key, playback.paused().moved(by))


def _mode_changed(key: str) -> None:
    # The step on show is redrawn in the new mode; a running play keeps running.
    playback = st.session_state.get(KEYS.playback)
    mode = st.session_state.get(KEYS.play_mode)
    if playback is not None and playback.year is not None and mode in PLAY_MODES:
        _show_step(key, playback.with_mode(mode), playing=playback.playing)


def advance_play(session) -> bool:
    """One step of a running play: the next years wait in `years_pending` for the app's rerun.

    `session` is `st.session_state`, or an AppTest's (the timer does not run there). A browser
    that sent an echo has not drawn the last step yet: the step waits for the next tick.
    Returns whether it stepped.
    """
    playback = session.get(KEYS.playback)
    behind = session.get(KEYS.browser_behind, False)
    session[KEYS.browser_behind] = False
    if playback is None or not playback.playing or behind:
        return False
    playback = playback.moved(1)
    session[KEYS.playback] = playback
    session[KEYS.years_pending] = playback.years()
    session[KEYS.play_stepped] = True
    return True


def _tick() -> None:
    """The fragment's timer: step, then rerun the whole app so every page follows."""
    if advance_play(st.session_state):
        st.rerun(scope="app")


def _draw_play(sb, key: str, vocab: Vocabulary) -> None:
    playback = st.session_state.get(KEYS.playback)
    playing = playback is not None and playback.playing
    st.session_state.setdefault(KEYS.play_mode, "year")
    sb.segmented_control(
        "Play through the years",
        list(PLAY_MODES),
        format_func=PLAY_MODES.get,
        key=KEYS.play_mode,
        required=True,
        on_change=_mode_changed,
        args=(key,),
        help="Step the years filter: one year at a time, or from the start of the range up to each "
        "year. Every page follows; any other change pauses the play.",
    )
    # Back and Next as borderless (tertiary) buttons: the three fit one row of the sidebar.
    row = sb.container(horizontal=True, gap="small", vertical_alignment="center")
    row.button(
        "Back",
        icon=":material/skip_previous:",
        key=KEYS.play_back,
        type="tertiary",
        help="The previous year with events",
        on_click=_step,
        args=(key, vocab, -1),
    )
    row.button(
        "Pause" if playing else "Play",
        icon=":material/pause:" if playing else ":material/play_arrow:",
        key=KEYS.play_button,
        type="primary" if playing else "secondary",
        on_click=_toggle_play,
        args=(key, vocab),
    )
    row.button(
        "Next",
        icon=":material/skip_next:",
        icon_position="right",
        key=KEYS.play_next,
        type="tertiary",
        help="The next year with events",
        on_click=_step,
        args=(key, vocab, 1),
    )
    status = ""
    if playback is not None and playback.year is not None:
        status = f"Year {playback.year}: step {playback.index + 1} of {len(playback.steps)}"
    if not playing:
        if status:
            sb.caption(status)
        return

    @st.fragment(run_every=PLAY_SECONDS)
    def ticker() -> None:
        # Drawn in a full run, the body only shows where the play stands; on the timer, it steps.
        if not st.session_state.pop(KEYS.play_armed, False):
            _tick()
        st.caption(f"Playing. {status}")

    st.session_state[KEYS.play_armed] = True
    with sb:
        ticker()


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
