"""A form body is read as `urllib.parse.parse_qsl` reads it, however it is escaped."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.slack.endpoint import _form

PIECES = ["%", "+", "=", "&", "a", "Z", "0", "9", "f", "F", "é", "€", "\U0001f600", " "]
PIECES += ["%25", "%2B", "%3D", "%26", "%C3", "%A9", "%E2", "%82", "%AC", "%F0", "%9F"]
PIECES += ["%98", "%80", "%BF", "%C0", "%C1", "%E0", "%ED", "%A0", "%F4", "%90", "%FF", "%0"]


def _urllib(text: str) -> dict[str, str] | None:
    try:
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        return None


def _ours(text: str) -> dict[str, str] | None:
    try:
        return _form(text)
    except ValueError:
        return None


@given(st.lists(st.sampled_from(PIECES), max_size=24).map("".join))
def test_a_form_reads_as_parse_qsl_reads_it(text: str) -> None:
    assert _ours(text) == _urllib(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "a=1&&b=2",
        "a=1&a=2",
        "=",
        "payload=" + quote('{"t": "é € \U0001f600 %41 + ="}'),
        "payload=%E2%82&x=%C3",
        "payload=%ED%A0%80%F4%90%80%80%C0%AF",
        "text=a+b%2Bc",
    ],
)
def test_odd_forms_read_as_parse_qsl_reads_them(text: str) -> None:
    assert _ours(text) == _urllib(text)
