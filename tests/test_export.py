"""Export: exact CSV bytes, formula neutralising, GeoJSON, and export -> load round trips."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboard.data import load_events
from dashboard.export import neutralise, to_csv_bytes, to_geojson_bytes
from dashboard.schema import EVENT_COLUMNS
from tests.conftest import load_rows, row


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindent", "'\tindent"),
        ("\rreturn", "'\rreturn"),
        ("\nfeed", "'\nfeed"),
        ("'=already", "''=already"),
        ("'quoted", "'quoted"),
        ("Plain text", "Plain text"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(text, expected):
    assert neutralise(text) == expected


def test_csv_bytes_are_exact(tiny_ref):
    frame = load_rows([row(title="=1+1", value="-5", unit="percent", category="trade")], tiny_ref).frame
    expected = (
        "\ufeff" + ",".join(EVENT_COLUMNS) + "\r\n"
        "2018-11-singapore-summit,'=1+1,Leaders met.,trade,2018-11-13,2018-11-15,false,,Singapore,SGP,"
        "1.29,103.85,false,,RUS,ASEAN,-5,percent,1,the summit in Singapore\r\n"
    )
    assert to_csv_bytes(frame).decode("utf-8") == expected


HOSTILE_TEXT = [
    '=HYPERLINK("http://evil","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\tstarts with tab",
    "\rstarts with CR",
    "'=apostrophe first",
    "<img src=x onerror=alert(1)>",
    'comma, "quote" and\nnewline',
    "Ünïcödé – “quotes”",
]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_export_then_load_gives_back_the_same_rows(tiny_ref, text):
    rows = [
        row(
            event_id="a",
            title=text,
            summary=text,
            evidence=text[:200],
            place=text[:100],
            lat="1.29",
            lon="103.85",
        ),
        row(event_id="b", value="-7400000000.5", unit="USD", category="trade", place="", lat="", lon=""),
    ]
    first = load_rows(rows, tiny_ref)
    assert first.ok, [str(p) for p in first.problems]
    again = load_events(to_csv_bytes(first.frame), tiny_ref, frozenset({1}), name="export.csv")
    assert again.ok, [str(p) for p in again.problems]
    pd.testing.assert_frame_equal(first.frame, again.frame)


def test_geojson_has_points_and_null_geometry(tiny_ref):
    frame = load_rows([row(), row(event_id="b", place="", lat="", lon="")], tiny_ref).frame
    data = json.loads(to_geojson_bytes(frame))
    assert data["type"] == "FeatureCollection"
    assert data["features"][0]["geometry"] == {"type": "Point", "coordinates": [103.85, 1.29]}
    assert data["features"][1]["geometry"] is None
    assert data["features"][0]["properties"]["article"] == 1
    assert data["features"][0]["properties"]["value"] is None
    assert list(data["features"][0]["properties"]) == list(EVENT_COLUMNS)


def test_exports_of_no_rows_are_valid(tiny_ref):
    frame = load_rows([row()], tiny_ref).frame.iloc[0:0]
    assert to_csv_bytes(frame).decode("utf-8-sig").strip() == ",".join(EVENT_COLUMNS)
    assert json.loads(to_geojson_bytes(frame))["features"] == []
