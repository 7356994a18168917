"""The shape checks made once from the specs (`adapters.slack.shapes.checker`) read them as
the specs say: required and optional fields, lists, alternatives, and true not a number."""

from __future__ import annotations

from adapters.slack.shapes import NONE, ListOf, Obj, Verdict, checker, judge


def test_a_checker_reads_its_spec() -> None:
    spec = Obj(
        required={"id": str},
        optional={"n": int, "tags": ListOf(str, 1), "team": (Obj(required={"id": str}), NONE)},
    )
    fits = checker(spec)
    assert fits({"id": "U1"})
    assert fits({"id": "U1", "n": 3, "tags": ["a"], "team": None, "other": object()})
    assert fits({"id": "U1", "team": {"id": "T1"}})
    assert not fits({"n": 3})  # a required field missing
    assert not fits({"id": "U1", "n": True})  # JSON's true is not a number
    assert not fits({"id": "U1", "tags": []})  # fewer than the least
    assert not fits({"id": "U1", "tags": ["a", 2]})
    assert not fits({"id": "U1", "team": {"name": "x"}})
    assert not fits(["id"])


def test_judge_by_kind() -> None:
    press = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "a"}]}
    assert judge(press) is Verdict.BOLT
    assert judge({**press, "actions": []}) is Verdict.MALFORMED
    assert judge({**press, "user": {"id": 7}}) is Verdict.MALFORMED
    assert judge({"type": "view_submission"}) is Verdict.UNHANDLED
    event = {"type": "event_callback", "event": {"type": "reaction_added"}}
    assert judge(event) is Verdict.IGNORE
    assert judge({"command": "/report-tiktok", "user_id": "U1"}) is Verdict.BOLT
    assert judge({"command": "/report-tiktok"}) is Verdict.MALFORMED
