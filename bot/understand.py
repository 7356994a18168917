"""Understanding what people type: a choice by number, label or their own words, typos and all.

Staff answer on a phone, between lessons, often upset. They type `2`, `Yesterday`, `1 and 3`,
`fake acount and harassment`, `nope` or `i dont think so`; this module turns that into the
values of the choices offered, or says it could not.

How a choice is found, in order:
1. numbers: `2`, `1, 3`, `1 and 3`, `#2`, `option 2`;
2. the whole answer is a choice's label, value or one of its words (`Choice.words`, kept beside
   each choice in `bot.flow`), or within a small typo of one;
3. the words and phrases of every choice are looked for inside the answer, longest first, each
   part of the answer used once: `not sure` is found before `sure`, and `i dont think so`
   before `think so`. A word after `not`/`no`/`isn't`… does not count (`not sexual`).
Typos are judged by rapidfuzz's edit-distance ratio, only for words of four letters or more, so
`no` never fuzzily becomes `not`; and a whole answer that adds a negation is no typo (`no
screenshots` is not `took screenshots`).

Text also enters the bot here (`clean`): terminal escape sequences, control characters and
bidirectional overrides are removed before anything is stored or shown to anyone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.model import Choice

TYPO_SCORE = 84  # rapidfuzz ratio (0–100): "yesterdy"→"yesterday" 94, "tuseday"→"tuesday" 86
MIN_FUZZY = 4  # shorter words must be exact: "no" is not a typo of "not"

# --- cleaning what comes in ---------------------------------------------------------------

# ESC [ … final byte (CSI), ESC ] … BEL/ST (OSC), ESC P/X/^/_ … ST, and any other ESC pair.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[@-Z\\-_]?|\x9b[0-?]*[ -/]*[@-~]"
)
# Bidirectional embeddings, overrides and isolates can make a stored line read differently.
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), None)


def clean(text: str) -> str:
    """The text without escape sequences, control characters or bidi overrides.

    Line breaks and tabs are kept as line breaks and spaces; zero-width joiners inside emoji are
    kept (they are format characters, not controls).
    """
    text = _ESCAPES.sub("", text.translate(_BIDI))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    kept = (ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")
    return unicodedata.normalize("NFC", "".join(kept))


@dataclass(frozen=True)
class Trimmed:
    text: str
    dropped: int  # characters left out


def trim(text: str, limit: int) -> Trimmed:
    """At most `limit` characters, cut at a word boundary where one is near."""
    if len(text) <= limit:
        return Trimmed(text, 0)
    cut = text.rfind(" ", limit - 60, limit)
    kept = text[: cut if cut > 0 else limit].rstrip()
    return Trimmed(kept, len(text) - len(kept))


# --- normalising for comparison -------------------------------------------------------------

_APOSTROPHES = str.maketrans({"’": "", "‘": "", "'": "", "`": "", "“": " ", "”": " "})
_NON_WORD = re.compile(r"[^a-z0-9#]+")


def words_of(text: str) -> list[str]:
    """Lower-case words with apostrophes dropped: "I don't know!" → ["i", "dont", "know"]."""
    folded = unicodedata.normalize("NFKD", text.lower().translate(_APOSTROPHES))
    ascii_only = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return [w for w in _NON_WORD.split(ascii_only) if w]


def norm(text: str) -> str:
    return " ".join(words_of(text))


def similar(typed: str, known: str) -> bool:
    """Within a small typo: exact for short words, edit-distance ratio for longer ones."""
    if typed == known:
        return True
    if min(len(typed), len(known)) < MIN_FUZZY:
        return False
    return fuzz.ratio(typed, known) >= TYPO_SCORE


def similar_to_one(typed: str, known: Sequence[str]) -> bool:
    """`similar` to one of `known` (words of MIN_FUZZY letters or more, none equal to it), in
    one call into rapidfuzz: the safety check asks this of every word typed (130,000 Python
    calls of `similar` in one benchmark run of 2,500 steps)."""
    if len(typed) < MIN_FUZZY:
        return False
    found = process.extractOne(typed, known, scorer=fuzz.ratio, score_cutoff=TYPO_SCORE)
    return found is not None


# --- numbers ----------------------------------------------------------------------------------

_NUMBERS_ONLY = re.compile(
    r"^\s*(?:(?:option|number|no\.?|#)\s*)?\d{1,2}\.?\)?"
    r"(?:\s*(?:,|;|&|\+|/|\band\b|\bor\b|\s)\s*(?:(?:option|number|#)\s*)?\d{1,2}\.?\)?)*\s*$",
    re.IGNORECASE,
)


# Answers sent as emoji, read as the words they stand for: a keycap "2️⃣" is 2, 👍 yes, 👎 no,
# 🤷 (any skin tone or gender) not sure. The variation selector, skin tone and gender are
# part of the match, so what is left is the base character.
_EMOJI = re.compile(
    "([0-9]\ufe0f?\u20e3|\U0001f44d|\U0001f44e|\U0001f937)"
    "[\ufe0f\U0001f3fb-\U0001f3ff\u200d\u2640\u2642]*"
)
_EMOJI_WORDS = {"\U0001f44d": " yes ", "\U0001f44e": " no ", "\U0001f937": " not sure "}


def _emoji_word(found: str) -> str:
    return found[0] if found[0].isdigit() else _EMOJI_WORDS.get(found, found)


def numbers_in(text: str) -> list[int] | None:
    """[1, 3] for "1, 3", "1 and 3" or "#1 & #3"; None if the answer is not just numbers."""
    if not _NUMBERS_ONLY.match(text):
        return None
    return [int(n) for n in re.findall(r"\d{1,2}", text)]


# --- finding choices --------------------------------------------------------------------------

_NEGATIONS = frozenset({"not", "no", "isnt", "wasnt", "arent", "werent", "never", "without"})


@dataclass(frozen=True)
class Picked:
    """What an answer named: choice values in the order found, and how sure we are.

    `exact` is True when the answer was numbers, or a whole label, value or word of a choice;
    False when the values were found inside a longer answer.
    """

    values: tuple[str, ...]
    exact: bool = True
    out_of_range: int = 0  # a number beyond the choices offered (0: none)


NOTHING = Picked(())


def pick(text: str, choices: Sequence[Choice], *, multi: bool) -> Picked:
    """The choices an answer names (at most one unless `multi`, except when ambiguous)."""
    text = _EMOJI.sub(lambda m: _emoji_word(m.group(1)), text)
    if not text.strip() or not choices:
        return NOTHING
    numbers = numbers_in(text)
    if numbers is not None:
        bad = next((n for n in numbers if not 1 <= n <= len(choices)), 0)
        if bad:
            return Picked((), out_of_range=bad)
        return Picked(tuple(dict.fromkeys(choices[n - 1].value for n in numbers)))
    whole = _whole(norm(text), choices)
    if whole:
        return Picked((whole,))
    return Picked(_spotted(words_of(text), choices), exact=False)


def _whole(typed: str, choices: Sequence[Choice]) -> str:
    """The one choice the whole answer names, exactly or within a typo; '' if none or several."""
    if not typed:
        return ""
    exact = [c.value for c in choices if typed in _names(c)]
    if exact:
        return exact[0]
    close = {c.value for c in choices for name in _names(c) if _close(typed, name)}
    return close.pop() if len(close) == 1 else ""


def _close(typed: str, name: str) -> bool:
    """Within a typo of `name`, and not by adding a negation: "no screenshots" is no typo of
    "took screenshots"."""
    added = set(typed.split()) - set(name.split())
    return similar(typed, name) and not added & _NEGATIONS


def _names(choice: Choice) -> set[str]:
    return {norm(choice.label), norm(choice.value.replace("_", " ")), *map(norm, choice.words)}


def _spotted(typed: list[str], choices: Sequence[Choice]) -> tuple[str, ...]:
    """Choices whose words occur in the answer: longest phrases first, each word used once."""
    phrases = sorted(
        ((name.split(), c.value) for c in choices for name in _names(c) if name),
        key=lambda p: -len(p[0]),
    )
    used = [False] * len(typed)
    found: list[tuple[int, str]] = []
    for phrase, value in phrases:
        for start in range(len(typed) - len(phrase) + 1):
            span = range(start, start + len(phrase))
            if any(used[i] for i in span):
                continue
            if all(similar(typed[i], word) for i, word in zip(span, phrase, strict=True)):
                for i in span:
                    used[i] = True
                if phrase[0] in _NEGATIONS or not _negated(typed, start):  # "no, not sure"
                    found.append((start, value))
    ordered = [value for _, value in sorted(found)]
    return tuple(dict.fromkeys(ordered))


def _negated(typed: list[str], start: int) -> bool:
    """'not sexual', 'no threats': a negation just before the phrase (but 'no' alone is an
    answer, and is its own phrase when a choice is called No)."""
    return start > 0 and typed[start - 1] in _NEGATIONS


# --- contact details --------------------------------------------------------------------------

# The local part as RFC 5322 allows it (atext and dots); the domain as DNS does.
_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
# A run of digits with the usual separators, optionally +44 and (0): 01632 960 123,
# +44 (0)7700 900123, 07700-900-123.
_PHONE = re.compile(r"(?<![\w@])\+?\(?\d[\d\s().\-]{7,20}\d(?![\w@])")


@dataclass(frozen=True)
class Contact:
    phone: str = ""
    email: str = ""

    def __bool__(self) -> bool:
        return bool(self.phone or self.email)


def contact_in(text: str) -> Contact:
    """The email addresses and phone numbers in the text, in either order; two or more of a
    kind are all kept, joined by "or" ("07700 900123 or 01632 960123"), so none is lost."""
    emails = [m.group(0).rstrip(".'") for m in _EMAIL.finditer(text)]
    without = _EMAIL.sub(" ", text)
    phones = [
        " ".join(m.group(0).split()) + _extension(without, m.end())
        for m in _PHONE.finditer(without)
        if _phone_digits_ok(re.sub(r"\D", "", m.group(0)))
    ]
    return Contact(_either(phones), _either(emails))


_EXTENSION = re.compile(r"\s*(?:,\s*)?(?:ext|extension|x)\.?\s*(\d{1,6})\b", re.IGNORECASE)


def _extension(text: str, at: int) -> str:
    """ "01632 960123 ext 4": the extension after a number, kept with it."""
    m = _EXTENSION.match(text, at)
    return f" ext {m.group(1)}" if m else ""


def _either(found: list[str]) -> str:
    return " or ".join(dict.fromkeys(found))


def _phone_digits_ok(digits: str) -> bool:
    digits = _uk(digits)
    if digits.startswith("00"):  # dialled abroad: 0033 …, as +33 …
        return 8 <= len(digits) - 2 <= 15
    if digits.startswith("07"):
        return len(digits) == 11  # a UK mobile: POSH could not call back a digit short
    if digits.startswith("0"):
        return len(digits) in (10, 11)  # UK numbers
    return 8 <= len(digits) <= 15  # elsewhere (E.164 allows 15)


def _uk(digits: str) -> str:
    """+44 (0)7700 … or 0044 7700 … as it is dialled in the UK: 07700 …"""
    digits = digits[2:] if digits.startswith("0044") else digits
    return "0" + digits[2:].removeprefix("0") if digits.startswith("44") else digits


def contact_hint(text: str) -> str:
    """Why no contact detail was found in `text`, when it nearly held one; '' otherwise."""
    for m in _PHONE.finditer(_EMAIL.sub(" ", text)):
        digits = _uk(re.sub(r"\D", "", m.group(0)))
        if digits.startswith("07") and len(digits) != 11:
            return (
                f"That mobile number has {len(digits)} digits; UK mobiles have 11, like "
                "07700 900123."
            )
    if "@" in text:
        return "That email address looks incomplete: it needs all of it, like name@school.sch.uk."
    return ""
