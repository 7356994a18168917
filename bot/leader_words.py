"""How a leader's case command is read from what they type (`bot.leaders` acts on it).

    show TT-2026-0007            the command, then the case       (as before)
    sent to posh TT-2026-0007    a card button's label as the verb ("Content removed", …)
    taken down TT-2026-0007      the words leaders use for a move ("closed", "with tiktok")
    clsoe TT-2026-0007 …         a small typo of a verb, beside a whole reference only
    TT-2026-0007 close           the reference first; the reference alone is "show"
    note 0007 POSH called back   this year's case by its printed number (as before)
    show 2 · show #2 · show case 2 · note 1 POSH called back      a short number

A whole reference (TT-2026-0007, in any of `bot.references`' forms) is never a report's
answer, so a verb beside it is read generously. A short number is read only as `short`: the
engine takes it as a command only when no report question waiting would take the words, the
person leads, and a case with that number is theirs (bot.leaders.LeaderDesk.recognise),
since "sent 2 videos" is a reporter's answer. A bare number (no "#" or "case") is a command
only with a verb that takes words after it (note, refused, close, reopen) or nothing after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from bot import references
from bot.lifecycle import MOVES

# What leaders type for each verb, as `_key` folds it: the verb, its card button's label,
# and their own words. Keys are the words run together, so "in-app", "in app" and "in_app"
# are one key.
_SAID: dict[str, tuple[str, ...]] = {
    "show": ("show", "view", "see", "details", "show me"),
    "note": ("note", "add note", "add a note", "comment"),
    "assign": (
        "assign", "take", "take on", "i'll take it", "i will contact posh", "ill call posh",
        "i will call posh",
    ),
    "in_app": ("in_app", "reported in app", "reported in the tiktok app", "reported in tiktok"),
    "sent": ("sent", "sent to posh", "sent it to posh", "emailed posh"),
    "with_tiktok": ("with_tiktok", "with tiktok", "passed to tiktok"),
    "removed": ("removed", "remove", "taken down", "take down", "removed by tiktok", "gone"),
    "refused": ("refused", "refuse", "declined", "rejected"),
    "close": ("close", "closed", "close case"),
    "reopen": ("reopen", "re-open", "reopened"),
}  # fmt: skip
TEXT_VERBS = frozenset({"note", "refused", "close", "reopen"})
"""Verbs whose words after the case are what they record: "note 1 POSH called back"."""
_MARKERS = frozenset({"case", "#", "no", "number"})  # "show case 2", "show #2"
_TOKEN = re.compile(r"#|[^\W_]+(?:['’][^\W_]+)*")
_AFTER = re.compile(r"[\s:,.\u2013\u2014-]*")  # between the case and the words after it
_FULL = re.compile(rf"(?<![\w@/.-]){references.PATTERN}(?!\w)", re.IGNORECASE)  # not @tt_2026_1
_POLITE = re.compile(r"^\s*(?:(?:please|pls|plz)\b[\s,]*)+", re.IGNORECASE)
_LONGEST = 6  # words in the longest phrase above
_TYPO = 1  # edits (a swap is one) from a verb's word, only beside a whole reference
_MIN_TYPO = 4  # letters: shorter words must be exact


def _key(words: list[str]) -> str:
    return "".join(w.lower().replace("'", "").replace("’", "") for w in words)


PHRASES: dict[str, str] = {
    _key(_TOKEN.findall(said)): verb
    for verb, saids in _SAID.items()
    for said in (*saids, MOVES[verb].label if verb in MOVES else verb)
}


@dataclass(frozen=True)
class Typed:
    """A case command as read: the verb, the case as typed, and the words after it."""

    verb: str
    reference: str
    rest: str
    short: bool = False
    """Named by a short number ("2", "#2", "case 2"): a command only if the engine agrees."""


def verb_of(said: str, *, typos: bool = False) -> str:
    """The verb these words say ("Content removed" → removed), or "" for none."""
    key = _key(_TOKEN.findall(said))
    if key in PHRASES or not typos or len(key) < _MIN_TYPO:
        return PHRASES.get(key, "")
    near = {v for k, v in PHRASES.items() if OSA.distance(key, k, score_cutoff=_TYPO) <= _TYPO}
    return near.pop() if len(near) == 1 else ""


def reference_in(text: str) -> str:
    """The whole case reference in the words, as typed ("" for none): words that carry one
    are never a report's answer."""
    found = _FULL.search(text)
    return found.group() if found else ""


def read(text: str) -> Typed | None:
    """The case command `text` is, if any (see the module's table)."""
    whole = _FULL.search(text)
    if whole is not None:
        return _beside_reference(text, whole)
    return _with_number(text)


def _beside_reference(text: str, ref: re.Match[str]) -> Typed | None:
    before, after = text[: ref.start()], text[ref.end() :]
    before = _POLITE.sub("", before)
    if before.strip():
        verb = verb_of(before, typos=True)
        return Typed(verb, ref.group(), _rest(after)) if verb else None
    verb, end = _leading_verb(after, typos=True)
    if not verb and not _rest(after):
        return Typed("show", ref.group(), "")  # the reference alone: the case
    return Typed(verb, ref.group(), _rest(after[end:])) if verb else None


def _leading_verb(text: str, *, typos: bool) -> tuple[str, int]:
    """The verb the words begin with, longest first, and where it ends in `text`. A typo is
    allowed in a one-word verb only, so "note a parent rang" keeps its "a"."""
    tokens = list(_TOKEN.finditer(text))
    if not tokens or text[: tokens[0].start()].strip():
        return "", 0  # something other than a word comes first
    for n in range(min(_LONGEST, len(tokens)), 0, -1):
        verb = verb_of(" ".join(t.group() for t in tokens[:n]))
        if verb:
            return verb, tokens[n - 1].end()
    verb = verb_of(tokens[0].group(), typos=typos)
    return (verb, tokens[0].end()) if verb else ("", 0)


_NUMBERED = re.compile(
    r"\s+(?P<marker>(?:case|number|no\.?)\s*|#\s*)?(?P<number>\d{1,4})(?![\w-])", re.IGNORECASE
)


def _with_number(text: str) -> Typed | None:
    """ "note 0007 …" (this year's case, as before), or a short number: "show #2"."""
    verb, end = _leading_verb(text, typos=False)
    number = _NUMBERED.match(text, end) if verb else None
    if number is None:
        return None
    rest = _rest(text[number.end() :])
    if re.fullmatch(references.NUMBER, number["number"]) and not number["marker"]:
        return Typed(verb, number["number"], rest)
    if not number["marker"] and rest and verb not in TEXT_VERBS:
        return None  # "sent 2 videos": a reporter's answer, never a command
    return Typed(verb, number["number"], rest, short=True)


def _rest(after: str) -> str:
    return after[_AFTER.match(after).end() :].strip()  # type: ignore[union-attr]


def assignee(rest: str) -> tuple[str, str]:
    """Who an assignment names, and its reason: "to Mrs Green because she knows POSH" ->
    ("Mrs Green", "she knows POSH"); "Mrs Green" alone names her too (a title, or a capital
    first). "to me", "please", "asap" or only a reason assign the sender ("", why)."""
    parts = _BECAUSE.split(rest.strip(), maxsplit=1)
    named, why = parts[0].strip(" ,:;-"), parts[1].strip() if len(parts) > 1 else ""
    to = re.match(r"to\s+(.+)$", named, re.I | re.S)
    name = (to.group(1) if to else named).strip()
    words = name.split()
    title = re.match(r"(?:mr|mrs|ms|miss|mx|dr)\.?\s", name, re.I)
    capital = name[:1].isupper() and bool(words) and words[0].lower() not in _NOT_A_NAME
    if name.lower() in _SELF or not (to or title or capital) or len(words) > _NAME_WORDS:
        return "", why if not named or named.lower() in _SELF or to else rest.strip()
    return name, why


_BECAUSE = re.compile(r"\s*[,:;-]?\s*\bbecause\b\s*", re.I)
_SELF = frozenset({"", "me", "myself", "me please", "please", "now", "asap", "i will"})
_NOT_A_NAME = frozenset({"i", "im", "ill", "ive", "please", "asap", "now", "me", "because"})
_NAME_WORDS = 5  # "Mrs Green", "Sam Patel, deputy head": longer than this is a reason
