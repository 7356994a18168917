"""Request bodies written by orjson for the platforms' clients: the same JSON json would send."""

from __future__ import annotations

import json

from adapters.json_body import dumps


def test_a_card_reads_back_the_same_as_json_wrote_it() -> None:
    card = {
        "type": "AdaptiveCard",
        "body": [{"type": "TextBlock", "text": "Ms J Patel – “Head of Year 9”, £5 ✅", "n": 2.5}],
        "actions": [{"data": {"choices": ["a", "b"], "ok": True, "none": None}}],
    }
    written = dumps(card)
    assert json.loads(written) == card == json.loads(json.dumps(card))
    assert "£" in written  # UTF-8, not \u escapes


def test_what_orjson_refuses_is_written_by_json() -> None:
    pasted = {"text": "half an emoji \ud83d here", "big": 2**70}
    written = dumps(pasted)
    assert written == json.dumps(pasted)
    assert json.loads(written) == pasted
