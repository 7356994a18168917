"""The journey table (journeys.yaml) read into plain, checked objects.

Every key is checked as it is read: a typo in the table ("expct") is an error that names the
journey and the key, never a check that silently does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SURFACES = ("terminal", "slack", "teams")
STEP_KINDS = ("start", "type", "choose", "picture")
STEP_KEYS = {*STEP_KINDS, "expect", "expect_not"}
JOURNEY_KEYS = {
    "id",
    "about",
    "leader",
    "surfaces",
    "why",
    "steps",
    "case",
    "first_case",
    "no_case",
    "leadership",
    "handoff",
    "never",
    "xfail",
}
EXPECT_KEYS = {"expect", "expect_not"}
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class TableError(ValueError):
    """The table itself is wrong (not the bot)."""


class _Loader(yaml.SafeLoader):
    """YAML where every plain scalar is text except true/false and empty: `no`, `2`, `1,3`,
    `10:30` and `2026-03-03` stay what a person types (YAML 1.1 would make them False, ints
    and dates)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in rules if tag == "tag:yaml.org,2002:null"]
    for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))


@dataclass(frozen=True)
class Expect:
    """Substrings that must (and must not) appear in some text."""

    expect: tuple[str, ...] = ()
    expect_not: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    kind: str  # one of STEP_KINDS
    text: str = ""  # start, type, picture
    labels: tuple[str, ...] = ()  # choose
    multi: bool = False  # choose was given a list
    seen: Expect = Expect()

    def __str__(self) -> str:
        value = list(self.labels) if self.multi else (self.labels[0] if self.labels else self.text)
        return f"{self.kind}: {value!r}"


@dataclass(frozen=True)
class Journey:
    id: str
    about: str
    steps: tuple[Step, ...]
    leader: bool = False
    surfaces: tuple[str, ...] = SURFACES
    why: str = ""
    case: Mapping[str, Any] | None = None
    first_case: Mapping[str, Any] | None = None
    no_case: bool = False
    leadership: Expect = Expect()
    handoff: Expect = Expect()
    never: tuple[str, ...] = ()
    xfail: Mapping[str, str] = field(default_factory=dict)  # surface -> reason


TABLE = Path(__file__).with_name("journeys.yaml")


def load(path: Path = TABLE) -> list[Journey]:
    return parse(path.read_text(encoding="utf-8"))


def counts(journeys: list[Journey]) -> str:
    """The README's sentence of figures, from the table itself (`python -m journeys.table`
    from tests/ prints it, with the journeys that skip a front end and why)."""
    runs = {s: sum(s in j.surfaces for j in journeys) for s in SURFACES}
    everywhere = sum(len(j.surfaces) == len(SURFACES) for j in journeys)
    return (
        f"There are {len(journeys)} journeys ({sum(runs.values())} runs: {runs['terminal']} in "
        f"the terminal, {runs['slack']} in Slack, {runs['teams']} in Teams): {everywhere} run "
        f"on all three front ends, and {len(journeys) - everywhere} only where they can"
    )


def parse(text: str) -> list[Journey]:
    raw = yaml.load(text, Loader=_Loader)  # a SafeLoader: no Python objects
    if not isinstance(raw, list):
        raise TableError("the table must be a list of journeys")
    journeys = [_journey(n, item) for n, item in enumerate(raw, start=1)]
    ids = [j.id for j in journeys]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise TableError(f"journey ids used twice: {', '.join(twice)}")
    return journeys


def _journey(n: int, item: Any) -> Journey:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise TableError(f"journey #{n} needs an id")
    jid = item["id"]
    where = f"journey {jid}"
    if not _ID.fullmatch(jid):
        raise TableError(f"{where}: ids are lower-case words joined by '-'")
    _known(where, item, JOURNEY_KEYS)
    surfaces = tuple(_strings(where, "surfaces", item.get("surfaces", list(SURFACES))))
    unknown = set(surfaces) - set(SURFACES)
    if unknown or not surfaces:
        raise TableError(f"{where}: surfaces must be some of {', '.join(SURFACES)}")
    if set(surfaces) != set(SURFACES) and not item.get("why"):
        raise TableError(f"{where}: a journey left off a surface needs a `why:` line")
    raw_steps = enumerate(_flat(item.get("steps")), start=1)
    steps = tuple(_step(f"{where}, step {k}", s) for k, s in raw_steps)
    if not steps:
        raise TableError(f"{where}: no steps")
    if "terminal" in surfaces and any(s.kind == "picture" for s in steps):
        raise TableError(f"{where}: the terminal cannot send a picture; leave it off `surfaces`")
    case, first = item.get("case"), item.get("first_case")
    if any(c is not None and not isinstance(c, dict) for c in (case, first)):
        raise TableError(f"{where}: `case` and `first_case` are mappings of answers")
    if case is not None and item.get("no_case"):
        raise TableError(f"{where}: `case` and `no_case` contradict each other")
    return Journey(
        id=jid,
        about=str(item.get("about", "")),
        steps=steps,
        leader=bool(item.get("leader", False)),
        surfaces=surfaces,
        why=str(item.get("why", "")),
        case=case,
        first_case=first,
        no_case=bool(item.get("no_case", False)),
        leadership=_expect(f"{where}, leadership", item.get("leadership")),
        handoff=_expect(f"{where}, handoff", item.get("handoff")),
        never=tuple(_strings(where, "never", item.get("never", []))),
        xfail=_xfail(where, item.get("xfail"), surfaces),
    )


def _flat(steps: Any) -> list[Any]:
    """A step that is itself a list is spliced in, so a YAML anchor can reuse a run of steps."""
    if not isinstance(steps, list):
        return []
    out: list[Any] = []
    for s in steps:
        out += _flat(s) if isinstance(s, list) else [s]
    return out


def _step(where: str, raw: Any) -> Step:
    if not isinstance(raw, dict):
        raise TableError(f"{where}: a step is a mapping such as {{type: 'hello'}}")
    _known(where, raw, STEP_KEYS)
    kinds = [k for k in STEP_KINDS if k in raw]
    if len(kinds) != 1:
        raise TableError(f"{where}: say exactly one of {', '.join(STEP_KINDS)}")
    kind, value = kinds[0], raw[kinds[0]]
    seen = _expect(where, {k: raw[k] for k in EXPECT_KEYS if k in raw})
    if kind == "choose":
        labels = tuple(_strings(where, "choose", value))
        if not labels:
            raise TableError(f"{where}: choose what?")
        return Step(kind, labels=labels, multi=isinstance(value, list), seen=seen)
    if value is None:
        value = ""
    if isinstance(value, dict) and set(value) == {"repeat", "times"}:
        # A long paste, written short: {repeat: "word ", times: 1000}.
        value = str(value["repeat"]) * int(value["times"])
    if not isinstance(value, str):
        raise TableError(f"{where}: {kind} takes text, or {{repeat: text, times: n}}")
    return Step(kind, text=str(value), seen=seen)


def _expect(where: str, raw: Any) -> Expect:
    if raw is None:
        return Expect()
    if not isinstance(raw, dict):
        raise TableError(f"{where}: expected a mapping with expect / expect_not")
    _known(where, raw, EXPECT_KEYS)
    for key in EXPECT_KEYS & set(raw):
        if not _strings(where, key, raw[key]):  # `expect: []` would check nothing, and pass
            raise TableError(f"{where}: {key} is empty; say what must be seen, or leave it out")
    return Expect(
        tuple(_strings(where, "expect", raw.get("expect", []))),
        tuple(_strings(where, "expect_not", raw.get("expect_not", []))),
    )


def _xfail(where: str, raw: Any, surfaces: tuple[str, ...]) -> dict[str, str]:
    """`xfail: "reason"` for every surface, or `xfail: {teams: "reason"}` for some."""
    if raw is None:
        return {}
    if isinstance(raw, str) and raw:
        return dict.fromkeys(surfaces, raw)
    if isinstance(raw, dict) and all(isinstance(v, str) and v for v in raw.values()):
        if set(raw) - set(surfaces):
            raise TableError(f"{where}: xfail names a surface the journey does not run on")
        return {str(k): str(v) for k, v in raw.items()}
    raise TableError(f"{where}: xfail is a reason, or a mapping of surface to reason")


def _known(where: str, raw: dict[str, Any], keys: set[str]) -> None:
    unknown = sorted(set(raw) - keys)
    if unknown:
        raise TableError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(keys))})")


def _strings(where: str, key: str, value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise TableError(f"{where}: {key} takes text or a list of texts")
    return [str(v) for v in values]


if __name__ == "__main__":
    table = load()
    print(counts(table) + ":")
    for journey in table:
        if len(journey.surfaces) < len(SURFACES):
            print(f"  {journey.id} ({', '.join(journey.surfaces)}): {journey.why}")
