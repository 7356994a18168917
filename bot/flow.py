"""The guided report: every question, choice, word people use for it, and hint, in order.

This module is content first, so a school can read and adjust it. `FLOW` lists the states in
the order asked; a step with `when` is asked only if its condition holds (a follow-up). Each
choice carries the other words people use for it (`Choice.words`), which `bot.understand`
matches with small typos allowed. Each step's acceptor turns an answer into a value to store
and says what follows, or raises `Problem` with a one-line hint; it never changes the
conversation itself (the engine applies what it returns).

    LINKS ─ cut short? ─> LINK_CHECK ─┐  (back to LINKS)
      ├─ no link? ─> NO_LINK ─────────┴────> HARM ─ other? ─> HARM_OTHER ─> DANGER
    ─> SEXUAL_IMAGES ─> TARGET ─ sexualised, pupils, said no? ─> SEXUAL_IMAGES_AGAIN
       ─ staff? ─> TARGET_STAFF ─ other? ─> TARGET_OTHER
    ─> FIRST_SEEN ─ vague? ─> FIRST_SEEN_ROUGHLY ─> IN_APP ─ yes? ─> IN_APP_WHEN (─> roughly)
    ─> IN_APP_REPLY ─> EVIDENCE (never when sexual images) ─> DESCRIPTION ─> POSTER ─> TOLD
    ─> NAME ─> ROLE ─> CONTACT ─> WHO_CALLS ─> SUMMARY ─ submit ─> END
                                                 ├─ change ─> CHANGE ─> (a section) ─> SUMMARY
                                                 └─ cancel ─> CANCEL ─ yes ─> END
    Any step: risk words ─> DANGER, then back.  "cancel" ─> CANCEL.  "start again" part-way
    ─> RESTART ─ yes ─> LINKS (a new report) / no ─> back.  Starting again while a report is
    open ─> RESUME ─ carry on ─> (where it was) / start again ─> LINKS.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Set as AbstractSet
from dataclasses import replace
from datetime import timedelta

from bot import safety
from bot.dates import When, describe_when, read_when, when_from_iso
from bot.errors import DateError, Problem
from bot.hours import hours_text
from bot.links import BARE_HANDLE, cut_short, parse_links, profile_url
from bot.model import JSON, Choice, Flag, Notice, Platform
from bot.steps import Accepted, Acceptor, Answer, Condition, Context, Then, never
from bot.steps import Step as Step  # re-exported: the flow's states
from bot.steps import StepSpec as StepSpec
from bot.understand import contact_hint, contact_in, pick, trim, words_of

MAX_TEXT = 1500  # characters kept of a free-text answer; the rest is dropped, and the person told
MAX_NAME = 100

# --- words people use -----------------------------------------------------------------------

YES_WORDS = (
    "y", "yes", "yeah", "yep", "yup", "ya", "yea", "yeh", "yess", "yse", "aye", "sure",
    "correct", "definitely", "absolutely", "of course", "i think so", "think so", "probably",
    "i believe so", "likely", "it is", "it does", "they are", "i have", "we have", "it has",
)  # fmt: skip
NO_WORDS = (
    "n", "no", "nope", "nah", "noo", "nay", "no way", "not really", "i dont think so",
    "dont think so", "i dont think", "none", "never", "not at all", "nobody", "no one",
    "negative", "i hope not", "not that i know", "not that i know of",
    "i havent", "we havent", "it hasnt", "it isnt", "it doesnt",
)  # fmt: skip
UNSURE_WORDS = (
    "not sure", "unsure", "dont know", "do not know", "i dont know", "dunno", "idk",
    "no idea", "maybe", "perhaps", "possibly", "might be", "could be", "not certain",
    "no clue", "cant say", "cant tell", "hard to say", "im not sure", "not really sure",
    "not entirely sure", "not 100 sure", "i cant tell", "cant remember",
    # A hedged no is not a no: on a safety question it takes the safe route.
    "hard to tell", "hard to tell really", "difficult to say", "difficult to tell",
    "prob not", "probably not", "possibly not", "maybe not", "might not be", "unlikely",
    "i doubt it", "doubt it", "not sure really",
    # Typed in a hurry (an exploratory test): each was read as a firm No.
    "dont no", "i dont no", "we dont no", "we dont know", "no sure", "no idk", "no dunno",
    "i havent looked", "havent looked", "not looked", "havent checked", "didnt look", "i no",
)  # fmt: skip

YES = Choice("yes", "Yes", YES_WORDS)
NO = Choice("no", "No", NO_WORDS)
UNSURE = Choice("unsure", "Not sure", UNSURE_WORDS)

HARM_KINDS = (
    Choice(
        "impersonation",
        "Fake account / impersonating staff or the school",
        ("fake account", "fake", "fake profile", "impersonation", "impersonating",
         "impersonate", "pretending", "pretending to be", "posing as", "pretends", "parody",
         "fake page", "using my name", "using my photo", "catfish"),
    ),
    Choice(
        "harassment",
        "Harassment or bullying",
        ("harassment", "harassing", "bullying", "bully", "abuse", "abusive", "insults",
         "insulting", "trolling", "mocking", "mean", "nasty", "rude", "humiliating"),
    ),
    Choice(
        "hateful",
        "Hateful or discriminatory",
        ("hate", "hateful", "racist", "racism", "homophobic", "sexist", "discriminatory",
         "discrimination", "transphobic", "antisemitic", "islamophobic", "ableist", "slurs"),
    ),
    Choice(
        "threats",
        "Threats of violence",
        ("threat", "threats", "threatening", "violence", "violent", "death threat"),
    ),
    Choice(
        "sexualised",
        "Sexualised content",
        ("sexual", "sexualised", "sexualized", "sex", "nude", "nudes", "porn", "explicit",
         "sexual picture", "sexual image", "deepfake", "rude pictures", "naked"),
    ),
    Choice(
        "personal_info",
        "Personal information shared",
        ("personal information", "personal info", "address", "home address", "phone number",
         "doxxing", "doxing", "personal details", "where i live", "my number"),
    ),
    Choice("other", "Something else", ("other", "something else", "else")),
)  # fmt: skip
TARGETS = (
    Choice(
        "staff",
        "A member of staff",
        ("staff", "a teacher", "teacher", "me", "myself", "colleague", "member of staff",
         "a colleague", "teachers", "head", "headteacher", "ta", "teaching assistant"),
    ),
    Choice("school", "The school itself", ("school", "the school", "our school", "academy")),
    Choice("pupils", "Pupils", ("pupils", "pupil", "students", "student", "children", "kids")),
    Choice("other", "Someone else", ("someone else", "other", "parent", "governor")),
)  # fmt: skip
POSTERS = (
    Choice("pupils", "Pupils of this school", ("pupils", "our pupils", "students", "yes",
           "year", "years", "kids", "children", "pupil", "student", "class", "form", "yr",
           "boys", "girls", "lads", "sixth form", "year group")),
    Choice("suspected", "We suspect pupils of this school", ("suspect", "we suspect",
           "probably", "i think", "think its", "think it is", "maybe", "possibly",
           "might be", "could be", "suspected", "we think", "reckon", "we reckon",
           "i reckon", "likely", "pretty sure", "i believe", "we believe", "prob", "probs",
           "prolly", "i guess", "we guess", "guessing", "seems like", "apparently",
           "rumour is", "rumoured", "heard its", "assume")),
    Choice("not_pupils", "No, not our pupils", ("not pupils", "not our pupils", "no",
           "someone else", "an adult", "a parent", "ex pupil", "another school",
           "other school", "different school", "college", "not ours", "not from here",
           "former pupil", "ex student", "former student", "old pupil", "colleague",
           "staff member", "member of staff")),
    Choice("unknown", "We don't know", ("dont know", "do not know", "not sure", "no idea",
           "unknown", "idk", "dunno")),
)  # fmt: skip
IN_APP_CHOICES = (
    Choice("yes", "Yes", (*YES_WORDS, "reported", "already", "done")),
    Choice("no", "Not yet", (*NO_WORDS, "not yet")),
    Choice("unsure", "I don't know", UNSURE_WORDS),
)
TIKTOK_REPLIES = (
    Choice("none", "No reply yet", ("no reply", "nothing", "nothing yet", "not yet",
           "no answer", "waiting", "no response", "none")),
    Choice("no_violation", "“No violation” – they left it up", ("no violation",
           "left it up", "didnt remove", "refused", "not removed", "no violations",
           "doesnt violate", "didnt violate", "doesnt go against", "does not go against",
           "not against", "not breaking", "doesnt break", "didnt break", "kept it up",
           "still up")),
    Choice("removed", "They removed it", ("removed", "taken down", "deleted", "gone",
           "took it down")),
)  # fmt: skip
EVIDENCE_CHOICES = (
    Choice(
        "yes",
        "Yes, with the link and date showing",
        (
            *YES_WORDS,
            "i have",
            "got them",
            "ive got",
            "got some",
            "weve got",
            "have some",
            "have them",
            "took some",
            "i took",
            "took screenshots",
            "screenshotted",
            "saved them",
            "on my phone",
            "i do",
            "we do",
        ),
    ),
    Choice(
        "not_yet",
        "Not yet",
        (
            "not yet",
            "no",
            "nope",
            "later",
            "havent yet",
            "i havent",
            "not got any",
            "havent got any",
            "none yet",
            "ill take",
            "will do",
            "none",
            "not any",
            "no screenshots",  # else a typo away from "took screenshots": a yes
            "i dont",
            "dont have any",
            "didnt take any",
            "havent taken any",
        ),
    ),
    Choice(
        "cannot",
        "No – it has gone",
        (
            "gone",
            "deleted",
            "removed",
            "cant",
            "it has gone",
            "too late",
            "taken down",
            "its gone",
            "been deleted",
            "deleted it",
            "they deleted it",
            "no they deleted it",  # words after "no" are read as negated: the whole phrase
            "no its been deleted",
            "no it was deleted",
            "no its gone",
            "no it has gone",
            "took it down",
            "not there",
            "not there anymore",
            "no longer there",
            "disappeared",
        ),
    ),
)
TOLD_CHOICES = (
    Choice("dsl", "Our DSL (safeguarding lead)", ("dsl", "safeguarding lead", "safeguarding",
           "designated safeguarding lead", "deputy dsl")),
    Choice("head", "The headteacher", ("head", "headteacher", "head teacher", "principal",
           "slt", "senior leadership")),
    Choice("police", "The police", ("police", "the police", "101", "999", "officer")),
    Choice("nobody", "Nobody yet", ("nobody", "no one", "noone", "none", "nobody yet", "no",
           "not yet")),
)  # fmt: skip
# No "them" or "you" for the leaders: "ill ring them myself" names POSH, not the leaders.
WHO_CALLS_CHOICES = {
    "leaders": Choice("leaders", "The leadership team (they are told when you send this)",
                      ("leadership", "leaders", "leadership team", "the school", "slt",
                       "someone else", "the head", "not me", "the leaders", "you do it")),
    "reporter": Choice("reporter", "I'll contact POSH myself", ("me", "myself", "i will",
                       "ill do it", "i can do it", "ill call", "ill ring", "ill phone",
                       "ill email", "ill contact", "i will call", "i will ring",
                       "i will phone", "i will email", "i will contact", "i can call",
                       "i can ring", "i can phone", "i can email", "i can contact",
                       "i'll do it myself")),
}  # fmt: skip
NO_LINK = Choice("none", "No link – it has been deleted", ("no link", "deleted", "gone",
                 "none", "no", "i dont have one", "dont have it", "removed", "taken down",
                 "no links", "dont have a link", "i dont have a link"))  # fmt: skip
DONE = Choice("done", "That's all", ("thats all", "done", "finished", "no", "no more",
              "nothing else", "next", "continue", "thats it", "ok", "that is all"))  # fmt: skip
CLEAR = Choice("clear", "Start the links again", ("start again", "clear", "redo", "reset"))
DATE_CHOICES = (Choice("today", "Today"), Choice("yesterday", "Yesterday"))
SKIP = Choice("skip", "Skip this question", ("skip", "no", "none", "nothing", "pass", "n/a"))
HANDLE_OK = Choice("keep", "Yes, that's the account", (*YES_WORDS, "thats right", "correct"))
HANDLE_AGAIN = Choice("again", "No, I'll paste the link", (*NO_WORDS, "paste", "wrong"))
ROUGH_UNKNOWN = Choice("unknown", "I don't know", UNSURE_WORDS)

SECTIONS = (
    Choice("links", "Links", ("link", "links", "account", "handle")),
    Choice("harm", "Kind of harm", ("harm", "kind", "type")),
    Choice("safety", "Safety questions", ("safety", "danger", "images")),
    Choice("target", "Who is targeted", ("target", "targeted", "who", "teacher", "staff",
           "mr", "mrs", "ms", "miss")),
    Choice("first_seen", "When first seen", ("when", "date", "first seen", "day", "week",
           "yesterday", "today", "monday", "tuesday", "wednesday", "thursday", "friday",
           "saturday", "sunday")),
    Choice("in_app", "Reported in the app", ("app", "reported", "tiktok")),
    Choice("evidence", "Evidence", ("evidence", "screenshots")),
    Choice("description", "What it shows", ("description", "what it shows", "shows")),
    Choice("poster", "Who is behind it", ("behind", "poster", "who posted")),
    Choice("told", "Who has been told", ("told", "dsl", "police")),
    Choice("you", "Your name and contact details", ("name", "role", "contact", "me",
           "number", "phone", "email", "mobile", "details")),
    Choice("posh", "Who contacts POSH", ("posh", "who contacts", "who calls")),
)  # fmt: skip
SUMMARY_CHOICES = (
    Choice("submit", "Submit report", ("submit", "send", "send it", "yes", "y", "yep",
           "yeah", "yup", "yes please", "done", "ok", "okay", "go", "go ahead", "correct",
           "looks good", "looks fine", "looks right", "all good", "all correct", "fine", "perfect",
           "thats right", "thats fine", "file it", "submit it")),
    Choice("change", "Change an answer", ("change", "edit", "fix", "wrong", "amend",
           "correct something", "change something")),
    Choice("cancel", "Cancel", ("cancel", "delete", "stop", "discard", "abandon")),
)  # fmt: skip
CANCEL_CHOICES = (
    Choice("yes", "Yes, cancel it", (*YES_WORDS, "cancel", "delete it", "cancel it")),
    Choice("no", "No, carry on", (*NO_WORDS, "carry on", "continue", "keep going", "back")),
)
RESTART_CHOICES = (
    Choice("yes", "Yes, start again", (*YES_WORDS, "start again", "restart", "start over")),
    Choice("no", "No, carry on", (*NO_WORDS, "carry on", "continue", "keep going", "back")),
)
RESUME_CHOICES = (
    Choice("resume", "Carry on", (*YES_WORDS, "carry on", "continue", "resume", "keep going",
           "finish", "finish it")),
    Choice("restart", "Start again", ("start again", "restart", "new", "new report", "fresh",
           "start over")),  # not "no": "no, I need to finish it" must never delete it
)  # fmt: skip


def yes_no(*extra: Choice) -> tuple[Choice, ...]:
    return (YES, NO, *extra)


def label(choices: tuple[Choice, ...], value: object) -> str:
    values = value if isinstance(value, list) else [value]
    names = {c.value: c.label for c in choices}
    return "; ".join(names.get(str(v), str(v)) for v in values)


# --- reading answers --------------------------------------------------------------------------


def chosen(answer: Answer, choices: tuple[Choice, ...], *, multi: bool) -> list[str]:
    """The values an answer picks from `choices`, or a one-line `Problem` saying what would do."""
    valid = {c.value for c in choices}
    pressed = [v for v in answer.values if v in valid]
    if pressed:
        return pressed if multi else pressed[:1]
    picked = pick(answer.text, choices, multi=multi)
    if picked.out_of_range:
        raise Problem(
            f"There's no {picked.out_of_range} here: please choose from 1 to {len(choices)}."
        )
    if not picked.values:
        raise Problem(didnt_catch(answer, choices, multi=multi))
    if not multi and len(picked.values) > 1:
        raise Problem("Please choose just one of those.")
    return list(picked.values)


def didnt_catch(answer: Answer, choices: tuple[Choice, ...], *, multi: bool) -> str:
    """One line: what would be accepted, for the surface the person is on."""
    if len(choices) <= 3:
        names = " or ".join(f"“{c.label}”" for c in choices)
        return f"Sorry, I didn't catch that. Please answer {names}."
    some = "one or more" if multi else "one"
    if answer.person.platform == Platform.TERMINAL:
        return f"Sorry, I didn't catch that. Type {some} of the numbers 1 to {len(choices)}."
    return f"Sorry, I didn't catch that. Choose {some} of the options, or type its words."


def free_text(answer: Answer, what: str, limit: int = MAX_TEXT) -> tuple[str, list[Notice]]:
    """The typed text, kept up to `limit`; a longer paste is trimmed and the person told."""
    text = " ".join(answer.text.split())
    if not text:
        raise Problem(f"Please type {what}.")
    kept = trim(text, limit)
    if not kept.dropped:
        return kept.text, []
    ends = " ".join(kept.text.split()[-6:])
    told = Notice(
        f"That was long, so I kept the first {len(kept.text):,} characters (up to “…{ends}”) "
        f"and left out the last {kept.dropped:,}. If something important was in the rest, "
        "you can change this answer, shorter, at the summary before you submit.",
        tone="warning",
    )
    return kept.text, [told]


def accept_poster(answer: Answer) -> Accepted:
    """One answer; words for two ("I think it's year 9s") are read as the more cautious."""
    pressed = [v for v in answer.values if v in {c.value for c in POSTERS}]
    values = pressed or list(pick(answer.text, POSTERS, multi=True).values)
    if not values:
        chosen(answer, POSTERS, multi=False)  # raises the one-line hint
    found = set(values)
    if len(found) > 1 and "not_pupils" not in _posters(_NO.sub(" ", answer.text)):
        found.discard("not_pupils")  # "maybe a year 10 but no proof": that "no" is no answer
    if {"not_pupils", "unknown"} <= found:  # "could be a parent actually, not sure"
        return Accepted("unknown")
    if "not_pupils" in found:  # "likely not our pupils", "i reckon its a parent"
        return Accepted("not_pupils")
    if "suspected" in found or {"pupils", "unknown"} <= found:
        return Accepted("suspected")
    for value in ("pupils", "unknown"):
        if value in found:
            return Accepted(value)
    raise Problem(didnt_catch(answer, POSTERS, multi=False))


_NO = re.compile(r"\bno\b", re.IGNORECASE)


def _posters(text: str) -> tuple[str, ...]:
    return pick(text, POSTERS, multi=True).values


def _text(what: str) -> Acceptor:
    def accept(answer: Answer) -> Accepted:
        text, notices = free_text(answer, what)
        return Accepted(text, tuple(notices))

    return accept


# --- acceptors: one per step that needs more than a choice ----------------------------------


def links_choices(ctx: Context) -> tuple[Choice, ...]:
    """The links step offers "That's all" once it holds a link."""
    return (DONE, CLEAR) if ctx.answers.get(Step.LINKS) else (NO_LINK,)


def _says_gone(text: str) -> bool:
    """ "no link, they deleted it already :(": No link, said around its words; not "no link
    yet", nor "it hasnt been removed", nor "its not deleted"."""
    words = words_of(text)
    if "yet" in words:
        return False
    return any(
        (w in _GONE or (w == "taken" and words[i + 1 : i + 2] == ["down"]))
        and not set(words[max(0, i - 3) : i]) & _DENIED
        for i, w in enumerate(words)
    )


_GONE = frozenset({"deleted", "removed", "gone"})
_DENIED = frozenset({"not", "hasnt", "havent", "isnt", "wasnt", "never", "aint", "didnt"})


def accept_links(answer: Answer) -> Accepted:
    held: list[JSON] = list(answer.answers.get(Step.LINKS) or [])
    offered = (DONE, CLEAR) if held else (NO_LINK, DONE)  # "done" with none: say so
    word = answer.values[0] if answer.values else ""
    if not word and not parse_links(answer.text)[0]:
        picked = pick(answer.text, offered, multi=False)
        gone = picked.values == ("none",) and _says_gone(answer.text)
        word = picked.values[0] if len(picked.values) == 1 and (picked.exact or gone) else ""
    if word == "clear":  # said what went, so a slip ("2" for two accounts) is seen at once
        cleared = f"Cleared {_labels(held)}. " if held else "Cleared. "
        return Accepted([], (Notice(cleared + "Paste the links again."),), then=Then.STAY)
    if word == "none":
        return Accepted([])
    if word == "done":
        if not held:
            raise Problem("I don't have a link yet – paste one, or choose “No link”.")
        return Accepted(held)
    links, errors = parse_links(answer.text)
    if not links:
        why = str(errors[0]) if errors else "Please paste a TikTok link or @handle."
        raise Problem(why + (" To take one out, type remove and its @handle." if held else ""))
    new = [link_doc(x.url, x.handle, x.label) for x in links]
    if held and _removing(answer.text):  # "remove @name": a wrong one, taken out
        return _without(held, new)
    suspect = next(((h, w) for h, w in cut_short(answer.text) if _holds(new, h)), None)
    if suspect is not None:  # hold it back until the person confirms it
        handle, rest = suspect
        kept = [x for x in new if x["handle"] != handle or x["url"]]
        merged = held + [x for x in kept if x not in held]
        check = {"handle": handle, "words": rest}
        return Accepted(merged, then=Then.GOTO, goto=Step.LINK_CHECK, also={Step.LINK_CHECK: check})
    merged = held + [x for x in new if x not in held]
    notices = [Notice(_got(merged))]
    notices += [Notice(f"I skipped one: {e}", tone="warning") for e in errors]
    return Accepted(merged, tuple(notices), then=Then.STAY)


_REMOVE = frozenset({"remove", "delete", "untick"})


def _removing(text: str) -> bool:
    """Words before the first link ask to take it out: "remove @name", "please delete …"."""
    lowered = text.lower()
    cut = min(
        (i for i in (lowered.find("@"), lowered.find("http"), lowered.find("tiktok.")) if i >= 0),
        default=len(text),
    )
    words = words_of(text[:cut])
    return bool(_REMOVE & set(words)) or "take out" in " ".join(words)


def _without(held: list[JSON], named: list[JSON]) -> Accepted:
    def same(a: JSON, b: JSON) -> bool:
        """A video by its address; an account (@name or its profile) by its name, and never
        the videos posted from it, each of which is a link of its own."""
        if b["label"] != f"@{b['handle']}":  # a video, or another kind of link
            return bool(a["url"] == b["url"])
        return a["label"] == b["label"] and str(a["handle"]).lower() == str(b["handle"]).lower()

    gone = [x for x in held if any(same(x, n) for n in named)]
    kept = [x for x in held if x not in gone]
    if not gone:
        raise Problem(
            f"{named[0]['label']} is not in this report. Got {len(held)}: {_labels(held)}."
        )
    left = _got(kept) if kept else "No links left: paste one, or choose “No link”."
    return Accepted(kept, (Notice(f"Removed {_labels(gone)}. {left}"),), then=Then.STAY)


def _labels(links: list[JSON]) -> str:
    return ", ".join(str(x["label"]) for x in links)


def _got(links: list[JSON]) -> str:
    return f"Got {len(links)}: {_labels(links)}. Paste another, or choose “That's all”."


def link_doc(url: str, handle: str | None, label_: str) -> JSON:
    return {"url": url, "handle": handle or "", "label": label_}


def _holds(links: list[JSON], handle: str) -> bool:
    return any(x["handle"] == handle and not x["url"] for x in links)


def link_check_text(ctx: Context) -> str:
    check: JSON = dict(ctx.answers.get(Step.LINK_CHECK) or {})
    handle, words = str(check.get("handle", "")), str(check.get("words", ""))
    return (
        f"I read that as the account @{handle} ({profile_url(handle)}). TikTok usernames have "
        f"no spaces, so if “{words}” is part of the name, that is probably its display name "
        "and the username is different. Is @" + handle + " the account? If not, paste the link "
        "from the profile's Share button."
    )


def accept_link_check(answer: Answer) -> Accepted:
    held: list[JSON] = list(answer.answers.get(Step.LINKS) or [])
    check: JSON = dict(answer.answers.get(Step.LINK_CHECK) or {})
    handle = str(check.get("handle", ""))
    if parse_links(answer.text)[0] and not answer.values:  # "no its @mrs.jones.fake"
        return _links_instead(answer)
    bare = BARE_HANDLE.search(answer.text) if not answer.values else None
    if bare:  # "no its mrs.jones.fake": asked about a handle, this is one without its @
        return _links_instead(replace(answer, text="@" + bare.group(0)))
    if chosen(answer, (HANDLE_OK, HANDLE_AGAIN), multi=False)[0] == "again":
        ask = Notice("Fine – paste the link from the profile's Share button (Copy link).")
        return Accepted(None, (ask,), then=Then.GOTO, goto=Step.LINKS)
    doc = link_doc("", handle, f"@{handle}")
    merged = held + ([doc] if doc not in held else [])
    got = ", ".join(str(x["label"]) for x in merged)
    told = Notice(f"Got {len(merged)}: {got}. Paste another, or choose “That's all”.")
    return Accepted(None, (told,), then=Then.GOTO, goto=Step.LINKS, also={Step.LINKS: merged})


def _links_instead(answer: Answer) -> Accepted:
    """The answer to "is @mrs the account?" holds the right link or handle: it replaces the
    cut-short one (never stored), read as the links step reads it and said back the same way."""
    read = accept_links(answer)  # the links held so far are in answer.answers
    if read.goto == Step.LINK_CHECK:  # cut short again: ask about the new one
        return replace(read, value=None, also={Step.LINKS: read.value, **read.also})
    also: dict[str, object] = {Step.LINKS: read.value, Step.LINK_CHECK: None}
    return replace(read, value=None, then=Then.GOTO, goto=Step.LINKS, also=also)


def accept_harm(answer: Answer) -> Accepted:
    return Accepted(chosen(answer, HARM_KINDS, multi=True))


def _safety_answer(answer: Answer) -> str:
    """yes / no / unsure; when an answer holds both, the safe reading wins."""
    choices = yes_no(UNSURE)
    valid = {c.value for c in choices}
    pressed = [v for v in answer.values if v in valid]
    values = pressed or list(pick(answer.text, choices, multi=True).values)
    if not values:
        if pick(answer.text, choices, multi=False).out_of_range:
            raise Problem("Please choose 1 (Yes), 2 (No) or 3 (Not sure).")
        raise Problem("Please answer Yes, No or Not sure – if you're not sure, say so.")
    for safest in ("yes", "unsure"):
        if safest in values:
            return safest
    return "no"


def accept_danger(answer: Answer) -> Accepted:
    _not_about(answer, _IMAGES_TOPIC, _DANGER_TOPIC, "the images question")
    value = _safety_answer(answer)
    if value == "no" and safety.risk_words(answer.text):  # "no but he said he'd bring a knife"
        value = "unsure"
    if value != "no":
        notice = safety.danger_notice(answer.facts, unsure=value == "unsure")
        return Accepted(value, (notice,), raise_flags=frozenset({Flag.DANGER}))
    if Flag.DANGER in answer.flags:  # said yes before: the alert went, the flag stays
        return Accepted(value, (safety.kept_flag_notice(Flag.DANGER),))
    return Accepted(value)


def accept_sexual_images(answer: Answer) -> Accepted:
    described = not answer.values and safety.child_sexual_content(answer.text)
    if not described:
        _not_about(answer, _DANGER_TOPIC, _IMAGES_TOPIC, "the danger question")
    in_words = described and not pick(answer.text, yes_no(UNSURE), multi=True).values
    value = "yes" if in_words else _safety_answer(answer)  # "sexting pics from year 10"
    if value == "no" and described:  # "no, but nudes of a year 9"
        value = "unsure"
    if value != "no":
        notice = safety.sexual_images_notice(
            answer.facts, unsure=value == "unsure", written=in_words
        )
        return Accepted(value, (notice,), raise_flags=frozenset({Flag.SEXUAL_IMAGES}))
    if Flag.SEXUAL_IMAGES in answer.flags:
        return Accepted(value, (safety.kept_flag_notice(Flag.SEXUAL_IMAGES),))
    return Accepted(value)


def _not_about(answer: Answer, other: frozenset[str], own: frozenset[str], name: str) -> None:
    """A safety question takes only an answer to itself: "sorry that was a mistake, nobody is
    in danger", typed at the images question, is not its No (a `Problem` saying so)."""
    words = set(words_of(answer.text))
    if not answer.values and words & other and not words & own:
        raise Problem(f"That sounds like it's about {name}: to change that answer, type back.")


_DANGER_TOPIC = frozenset({"danger", "dangerous", "safe", "unsafe", "hurt", "threat", "threats"})
_IMAGES_TOPIC = frozenset({
    "image", "images", "nude", "nudes", "naked", "photo", "photos", "picture", "pictures",
    "pic", "pics", "video", "videos", "sexual",
})  # fmt: skip


def _ask_images_again(answers: JSON, flags: AbstractSet[Flag]) -> bool:
    """Sexualised content that targets pupils, yet "no" to images of an under-18: pupils are
    under 18, so the question is asked again, in words that name them."""
    pupils = "pupils" in (answers.get(Step.TARGET) or ()) or Flag.PUPILS_TARGETED in flags
    return (
        Flag.SEXUAL_IMAGES not in flags
        and answers.get(Step.SEXUAL_IMAGES) == "no"
        and "sexualised" in (answers.get(Step.HARM) or ())
        and pupils  # chosen, or named under Someone else ("a sixth form student")
    )


def accept_sexual_images_again(answer: Answer) -> Accepted:
    """The answer replaces the first one: a Yes or Not sure flags the report as a Yes would."""
    accepted = accept_sexual_images(answer)
    return replace(accepted, also={Step.SEXUAL_IMAGES: accepted.value})


def accept_target(answer: Answer) -> Accepted:
    values = chosen(answer, TARGETS, multi=True)
    if "pupils" in values:
        notice = safety.pupils_notice()
        return Accepted(values, (notice,), raise_flags=frozenset({Flag.PUPILS_TARGETED}))
    named = _STAFF_NAMED.search(answer.text) if values == ["staff"] else None
    if named is None:
        return Accepted(values, clear_flags=frozenset({Flag.PUPILS_TARGETED}))
    name = trim(named.group(0), MAX_TEXT).text  # as the question it answers would keep it
    said = Notice(f"The member of staff: {name}.")
    also: dict[str, object] = {Step.TARGET_STAFF: name}
    return Accepted(
        values,
        (said,),
        clear_flags=frozenset({Flag.PUPILS_TARGETED}),
        also=also,
        ahead=(Step.TARGET_STAFF,),
    )


def accept_target_staff(answer: Answer) -> Accepted:
    """ "me" or "myself" is the person reporting: POSH is told so, not "– myself"."""
    text, notices = free_text(answer, "the staff member's name and role")
    words = set(words_of(text))
    if words & {"me", "myself"} and words <= _ME:
        return Accepted(ME_TARGETED, (Notice("Noted: it targets you, the person reporting it."),))
    return Accepted(text, tuple(notices))


def accept_target_other(answer: Answer) -> Accepted:
    """ "a sixth form student" is a pupil: the report is one that targets pupils (the DSL,
    and for sexualised content the images question again), its answer kept as typed."""
    text, notices = free_text(answer, "who is targeted")
    if Flag.PUPILS_TARGETED in answer.flags or not safety.names_a_child(text):
        return Accepted(text, tuple(notices))
    flags = frozenset({Flag.PUPILS_TARGETED})
    return Accepted(text, (*notices, safety.pupils_notice()), raise_flags=flags)


ME_TARGETED = "the person making this report"
_ME = frozenset({"me", "myself", "its", "it", "is", "im", "i", "am", "just"})


# The member of staff named in the answer that says staff are targeted: "Mr Okafor, head of
# science" is that answer and the next question's (which is then not asked).
_STAFF_NAMED = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Sir)\.?\s+[A-Z][\w.'’-]*(?:[ ,]+\S+)*")


def _when(answer: Answer) -> When:
    picked = [v for v in answer.values if v in ("today", "yesterday")]
    if not picked:
        exact = pick(answer.text, DATE_CHOICES, multi=False)
        if exact.exact and exact.values:  # "1", "2", "Today": the options offered
            picked = list(exact.values)
    if picked:
        day = answer.today - timedelta(days=1 if picked[0] == "yesterday" else 0)
        return When(day, day)
    try:
        return read_when(answer.text, answer.today)
    except DateError as e:
        raise Problem(str(e)) from None


FIRST_SEEN_SAID = "first_seen_said"  # the words of a vague answer, to echo them back


def accept_first_seen(answer: Answer) -> Accepted:
    when = _when(answer)
    return Accepted(when.iso(), also={FIRST_SEEN_SAID: None if when.is_day else when.said})


def roughly_text(ctx: Context) -> str:
    value = ctx.answers.get(Step.FIRST_SEEN)
    said = str(ctx.answers.get(FIRST_SEEN_SAID) or "")
    if when_from_iso(value).is_known:
        return (
            f"You said “{said}” – {describe_when(value)}. If you can, type the day (e.g. "
            "Monday or 18/11); if not, choose below."
        )
    return (
        "Roughly when? Something like “last week” or “this month” helps, or a date. If you "
        "really don't know, choose “I don't know”."
    )


def roughly_choices(ctx: Context) -> tuple[Choice, ...]:
    value = ctx.answers.get(Step.FIRST_SEEN)
    if not when_from_iso(value).is_known:
        return (ROUGH_UNKNOWN,)
    span = Choice("span", f"Sometime {describe_when(value)}", ("sometime", "somewhere"))
    return (span, ROUGH_UNKNOWN)


def accept_roughly(answer: Answer) -> Accepted:
    offered = roughly_choices(answer.ctx)
    pressed = [v for v in answer.values if v in ("span", "unknown")]
    picked = pick(answer.text, offered, multi=False)
    word = pressed[0] if pressed else (picked.values[0] if picked.exact and picked.values else "")
    if word == "span":
        return Accepted("span")
    if word != "unknown":
        when = _when(answer)
        if when.is_known:
            return Accepted("narrowed", also={Step.FIRST_SEEN: when.iso()})
    return Accepted("unknown", also={Step.FIRST_SEEN: "unknown"})


def _vague_first_seen(answers: JSON, flags: AbstractSet[Flag]) -> bool:
    return Step.FIRST_SEEN in answers and not when_from_iso(answers[Step.FIRST_SEEN]).is_day


def accept_in_app(answer: Answer) -> Accepted:
    value = chosen(answer, IN_APP_CHOICES, multi=False)[0]
    if value == "yes":
        return Accepted(value)
    if Flag.SEXUAL_IMAGES in answer.flags:
        tip = "Don't open it again to report it: the DSL and the IWF route cover it."
    else:
        tip = (
            "If you can do it safely, report it now – POSH asks that this is tried first. "
            f"{answer.facts.tiktok_report_howto} {answer.facts.tiktok_form_howto}"
        )
    return Accepted(value, (Notice(tip, title="Reporting it to TikTok"),))


def accept_in_app_when(answer: Answer) -> Accepted:
    when = _when(answer)
    seen = when_from_iso(answer.answers.get(Step.FIRST_SEEN))
    if when.end is not None and seen.start is not None and when.end < seen.start:
        check = (
            f"That is before the day you said it was first seen ({describe_when(seen.iso())}). "
            "I've kept both: you can change either before you send the report."
        )
        return Accepted(when.iso(), (Notice(check, tone="warning"),))
    return Accepted(when.iso())


def accept_in_app_reply(answer: Answer) -> Accepted:
    try:
        return Accepted(chosen(answer, TIKTOK_REPLIES, multi=False)[0])
    except Problem:
        if answer.values:
            raise
        text, notices = free_text(answer, "what TikTok said", 500)
        return Accepted(text, tuple(notices))


def evidence_text(ctx: Context) -> str:
    return (
        "Do you have screenshots of it that show the @handle, the web address and the date? "
        f"({safety.screenshot_caveat_in_question(ctx.facts)})"
    )


def accept_evidence(answer: Answer) -> Accepted:
    """One answer; "no, they deleted it" is a no with its reason: it has gone."""
    spotted = set(pick(answer.text, EVIDENCE_CHOICES, multi=True).values)
    if not answer.values and spotted == {"not_yet", "cannot"}:
        return Accepted("cannot")
    value = chosen(answer, EVIDENCE_CHOICES, multi=False)[0]
    if value != "not_yet":
        return Accepted(value)
    tip = (
        "When you can, take screenshots that show the @handle, the web address and the date "
        "(on a computer include the address bar). Keep them where your school keeps "
        "safeguarding records; don't post them in this chat. "
        + safety.screenshot_caveat(answer.facts)
    )
    return Accepted(value, (Notice(tip, title="Screenshots"),))


def description_text(ctx: Context) -> str:
    if Flag.SEXUAL_IMAGES in ctx.flags:  # the email leaves the description out (bot.report)
        return (
            "In a sentence or two, what does it show or say? It is for your leadership team "
            "only: the email to POSH will say only that there is such content, and that it is "
            "for the police and the IWF. Don't describe any sexual image of a child, and "
            "please don't name any pupils."
        )
    return (
        "In a sentence or two, what does it show or say? This goes in the email to POSH. "
        "Please don't name any pupils."
    )


def accept_description(answer: Answer) -> Accepted:
    if answer.values == ("skip",) or (
        (p := pick(answer.text, (SKIP,), multi=False)).exact and p.values
    ):
        return Accepted("")
    text, notices = free_text(answer, "a sentence about what it shows, or choose Skip")
    return Accepted(text, tuple(notices))


def accept_told(answer: Answer) -> Accepted:
    values = chosen(answer, TOLD_CHOICES, multi=True)
    if len(values) > 1 and "nobody" in values:
        values = [v for v in values if v != "nobody"]
    concern = answer.flags & {Flag.DANGER, Flag.SEXUAL_IMAGES, Flag.PUPILS_TARGETED}
    if concern and "dsl" not in values:
        return Accepted(values, (safety.tell_dsl_notice(answer.flags),))
    return Accepted(values)


def name_choices(ctx: Context) -> tuple[Choice, ...]:
    if not ctx.person.name:
        return ()
    words = ("yes", "thats me", "me", "correct", "that is me", "yes thats me")
    return (Choice("profile", ctx.person.name, words),)


def accept_name(answer: Answer) -> Accepted:
    offered = name_choices(answer.ctx)
    picked = pick(answer.text, offered, multi=False)
    if offered and (answer.values == ("profile",) or (picked.exact and picked.values)):
        return Accepted(answer.person.name)
    text, _ = free_text(answer, "your name", MAX_NAME)
    said_yes_no = pick(text, (YES, NO, UNSURE), multi=False).exact
    if said_yes_no or not any(ch.isalpha() for ch in text) or len(text) > MAX_NAME:
        raise Problem("Please type your name as POSH should know it, e.g. Sam Patel.")
    name, role = [*_NAME_ROLE.split(text, maxsplit=1), ""][:2]
    if name and role and set(words_of(role)) & _ROLE_WORDS:  # "Sam Patel, deputy head"
        said = Notice(f"Your name: {name}. Your role: {role}.")
        return Accepted(name, (said,), also={Step.ROLE: role}, ahead=(Step.ROLE,))
    return Accepted(text)


# "Sam Patel, deputy head" or "Sam Patel – DSL": the name, then the role (the next question's
# answer, not asked then). Only words a role has count, so "Patel, Sam" stays a name.
_NAME_ROLE = re.compile(r"\s*(?:,|\s[-\u2013\u2014]\s)\s*")  # text is trimmed already
_ROLE_WORDS = frozenset({
    "head", "headteacher", "deputy", "assistant", "teacher", "dsl", "ddsl", "senco", "senior",
    "principal", "leader", "lead", "year", "manager", "business", "officer", "pastoral",
    "safeguarding", "tutor", "ta", "hlta", "admin", "governor", "chair", "trust", "ceo", "slt",
})  # fmt: skip


def contact_choices(ctx: Context) -> tuple[Choice, ...]:
    email = ctx.person.email
    if not email:
        return ()
    return (Choice("profile", f"Use my email, {email}", ("my email", "use my email", "that")),)


# "use my email, and my mobile 07700 900123": the profile's email, named inside a longer answer.
PROFILE_EMAIL = Choice("profile", "my email", ("my email", "use my email", "my e mail",
                       "my work email", "my school email", "email me"))  # fmt: skip


def accept_contact(answer: Answer) -> Accepted:
    picked = pick(answer.text, contact_choices(answer.ctx), multi=False)
    if answer.person.email and (answer.values == ("profile",) or (picked.exact and picked.values)):
        return Accepted({"phone": "", "email": answer.person.email})
    found = contact_in(answer.text[:MAX_TEXT])
    named = answer.person.email and pick(answer.text, (PROFILE_EMAIL,), multi=False).values
    if named and not found.email:
        found = replace(found, email=answer.person.email)
    if not found:
        hint = contact_hint(answer.text[:MAX_TEXT])
        raise Problem((hint + " " if hint else "") + _contact_asked(answer.text))
    return Accepted({"phone": found.phone, "email": found.email})


def _contact_asked(text: str) -> str:
    """What to send, as the person put it: "call me" asks for the number, "email me" the
    address."""
    words = set(words_of(text))
    if words & {"call", "ring", "phone", "mobile", "number"} and "email" not in words:
        return "What number should POSH call? For example 01632 960123 or 07700 900123."
    if words & {"email", "e-mail", "mail"}:
        return "What is your email address? For example name@school.sch.uk."
    return (
        "Please give a phone number (like 01632 960123) or an email address "
        "(like name@school.sch.uk) – or both."
    )


def who_calls_choices(default: str) -> tuple[Choice, ...]:
    first = WHO_CALLS_CHOICES[default]
    return (first, *(c for k, c in WHO_CALLS_CHOICES.items() if k != default))


def _who_calls_offered(ctx: Context) -> tuple[Choice, ...]:
    return who_calls_choices(ctx.who_calls)


def accept_who_calls(answer: Answer) -> Accepted:
    return Accepted(chosen(answer, _who_calls_offered(answer.ctx), multi=False)[0])


# --- the states around the questions ------------------------------------------------------------


def accept_summary(answer: Answer) -> Accepted:
    if not answer.values and parse_links(answer.text)[0]:  # "there's also @ahmed_exposed2"
        return _links_added(answer)
    try:
        value = chosen(answer, SUMMARY_CHOICES, multi=False)[0]
    except Problem:
        if not answer.values:  # "can leadership call posh instead": a change, not named so
            with contextlib.suppress(Problem):
                return _change_named(answer)
            if len(words_of(answer.text)) >= _SAID_SOMETHING:  # a correction, in their words
                return Accepted(None, (Notice(_WHICH_PART),), then=Then.GOTO, goto=Step.CHANGE)
        raise Problem("Please choose Submit report, Change an answer, or Cancel.") from None
    if value == "submit":
        return Accepted(None, then=Then.SUBMIT)
    if value == "change" and not answer.values:
        with contextlib.suppress(Problem):  # "change the date": straight to it
            return _change_named(answer)
    return Accepted(None, then=Then.GOTO, goto=Step.CHANGE if value == "change" else Step.CANCEL)


_SAID_SOMETHING = 3  # words: "it's also on instagram" is a correction; "what now" is not
_WHICH_PART = (
    "Nothing has been changed yet. Choose the part your change is in, then answer it again."
)


def _links_added(answer: Answer) -> Accepted:
    """Links typed at the summary join the report (or, "remove @x", leave it), and the links
    question follows, so the person sees them all and says "That's all" to return (or first
    confirms a short handle, if one needs it)."""
    took = accept_links(answer)
    goto = took.goto if took.then == Then.GOTO else Step.LINKS
    also = {**took.also, Step.LINKS: took.value}
    return Accepted(None, took.notices, then=Then.EDIT, goto=goto, also=also)


def _change_named(answer: Answer) -> Accepted:
    """The section a summary answer names once the words asking for a change are gone; a
    `Problem` if it names none ("change": the menu; "2": a menu number, not a section)."""
    named = _CHANGE_WORDS.sub(" ", answer.text.lower()).strip()
    if _THEIR_NAME.search(named):  # "his name is spelt wrong": the teacher's, not mine
        named = "targeted"
    if not re.search("[a-z]", named):
        raise Problem("no section named")
    return accept_change(replace(answer, text=named))


_THEIR_NAME = re.compile(r"\b(?:his|her|their|teachers?|staff)\s+(?:\w+\s+)?name\b")


# What asks for a change, leaving the part to change: "actually can I change the date".
_CHANGE_WORDS = re.compile(
    r"\b(?:actually|sorry|please|can i|could i|can you|could you|i want to|i need to|"
    r"i'd like to|id like to|"
    r"change|edit|fix|amend|correct|wrong|is wrong|the|my|an|answer|to|it|for|about)\b"
)


def _first_to_change(section: str, ctx: Context) -> StepSpec | None:
    """The first question of a section that applies to this report (None: none does)."""
    steps = (s for s in FLOW if s.section == section and s.question and not s.follow_up)
    return next((s for s in steps if s.when(dict(ctx.answers), ctx.flags)), None)


def change_choices(ctx: Context) -> tuple[Choice, ...]:
    """Only the parts that apply: a report flagged for a child's images has no Evidence."""
    return tuple(c for c in SECTIONS if _first_to_change(c.value, ctx))


def accept_change(answer: Answer) -> Accepted:
    offered = change_choices(answer.ctx)
    try:
        section = chosen(answer, offered, multi=False)[0]
    except Problem:
        left_out = tuple(c for c in SECTIONS if c not in offered)
        named = pick(answer.text, left_out, multi=False)
        if left_out and not answer.text.strip().isdigit() and len(named.values) == 1:
            name = next(c.label for c in left_out if c.value == named.values[0])
            raise Problem(f"“{name}” doesn't apply to this report. Choose another part.") from None
        raise
    first = _first_to_change(section, answer.ctx)
    assert first is not None  # offered only if it applies
    return Accepted(None, then=Then.EDIT, goto=first.step)


def cancel_text(ctx: Context) -> str:
    text = "Cancel this report? Your answers will be deleted and nothing more will be sent."
    if ctx.urgent_case:
        text += (
            f" Leadership were already alerted to the safety concern ({ctx.urgent_case}) and "
            "will still follow it up."
        )
    return text


def accept_cancel(answer: Answer) -> Accepted:
    if chosen(answer, CANCEL_CHOICES, multi=False)[0] == "yes":
        return Accepted(None, then=Then.CANCEL)
    return Accepted(None, then=Then.RETURN)


def restart_text(ctx: Context) -> str:
    text = "Start again? Your answers so far will be deleted."
    if ctx.urgent_case:
        text += f" Leadership keep the alert you raised ({ctx.urgent_case})."
    return text


def accept_restart(answer: Answer) -> Accepted:
    if chosen(answer, RESTART_CHOICES, multi=False)[0] == "yes":
        return Accepted(None, then=Then.RESTART)
    return Accepted(None, then=Then.RETURN)


def accept_resume(answer: Answer) -> Accepted:
    if not answer.values and parse_links(answer.text)[0]:  # "@x is a new one": never unasked
        raise Problem(
            "Your unfinished report is still here. To report that account instead, choose "
            "Start again (the unfinished one is deleted) and paste it again; or Carry on to "
            "finish the first one."
        )
    try:
        value = chosen(answer, RESUME_CHOICES, multi=False)[0]
    except Problem:
        raise Problem("Please choose Carry on or Start again.") from None
    return Accepted(None, then=Then.RETURN if value == "resume" else Then.RESTART)


SENT_CHOICE = Choice("sent", "I've contacted POSH", ("sent", "done", "i have", "contacted"))
# "done, rang them", "I've emailed POSH now": a message made only of these words, with one of
# _DID in it, says it is done. Anything more ("I have another account to report", "I rang but
# they were closed", "someone called me a …") is not, and goes on as a new message would.
_DID = frozenset(
    {"done", "sent", "rang", "called", "phoned", "emailed", "contacted", "spoke", "spoken"}
)
_SAYING_DONE = _DID | {
    *("i", "ive", "we", "weve", "have", "has", "just", "now", "already", "all", "yes", "yep"),
    *("ok", "okay", "and", "to", "them", "it", "posh", "the", "helpline", "an", "email"),
    *("thanks", "thank", "you", "both"),
}


def end_text(ctx: Context) -> str:
    ref = ctx.answers.get("case", "")
    return f"When you have contacted POSH, tell me here (or type sent {ref}) so leaders see it."


def accept_end(answer: Answer) -> Accepted:
    """After a report whose reporter contacts POSH: "I've contacted POSH", said any way (what
    more they said goes on the case as its note); a try that did not get through is told how
    else to reach POSH. Anything else is a new conversation (the engine starts afresh)."""
    picked = [v for v in answer.values if v == "sent"]
    found = pick(answer.text, (SENT_CHOICE,), multi=False)
    typed = words_of(answer.text)
    words = set(typed)
    said = bool(words & _DID) and words <= _SAYING_DONE
    if picked or (found.exact and found.values) or said:
        return Accepted(None, then=Then.SENT)
    if _another_account(answer.text):
        raise Problem("")  # another account to report: a new conversation
    if words & _NOT_REACHED and words & (_DID | _TRIED):  # "I rang but they were closed"
        return Accepted(None, (Notice(_try_again(answer.ctx)),), then=Then.STAY)
    if _not_yet(words):  # "haven't called them yet", "not yet", "will ring them tomorrow"
        return Accepted(None, (Notice(end_text(answer.ctx)),), then=Then.STAY)
    if _reached_posh(typed):  # "rang them, they said 48 hours"
        return Accepted(trim(answer.text, MAX_TEXT).text, then=Then.SENT)
    if words and words <= _SAYING_DONE:  # "ok thanks": not a new report
        return Accepted(None, (Notice(f"{end_text(answer.ctx)} {_ANOTHER}"),), then=Then.STAY)
    raise Problem("")


def after_handoff(text: str) -> str:
    """What a reporter's message after the handoff says of their case, besides contacting
    POSH: "hand_back" (leaders to contact POSH instead), "what_next", "update" (news of the
    content), or "" (none: a new conversation). A child's images are read first, by the engine."""
    if _another_account(text):
        return ""  # another account, or more of it: a new report (joined if the same one)
    if _HAND_BACK.search(text) and not set(words_of(text)) & _SAID_OF_LEADERS:
        return "hand_back"  # "can leadership do it instead? i'm not confident"
    if _WHAT_NEXT.search(text):
        return "what_next"  # "what happens now?": told, nothing written
    return "update" if set(words_of(text)) & _UPDATE else ""


_WHAT_NEXT = re.compile(
    r"\b(?:what\s+(?:happens|do\s+i\s+do|should\s+i\s+do)\s+(?:now|next)|what\s+now|"
    r"now\s+what|what\s+next|what'?s\s+next)\b",
    re.IGNORECASE,
)


def _another_account(text: str) -> bool:
    """Another account, or more of this one, after the handoff: a new report's start."""
    return bool(set(words_of(text)) & _NEW_REPORT) or "tiktok.com" in text.lower() or "@" in text


def _not_yet(words: AbstractSet[str]) -> bool:
    """Not contacted yet: said so ("haven't called them yet"), or said of later ("will ring
    them tomorrow") with no contact said ("rang them, they will get back to me" is done)."""
    told_of = words & (_DID | _TRIED) or words <= _NOT_YET | _LATER | _SAYING_DONE
    if words & _NOT_YET:
        return bool(told_of)
    return bool(words & _LATER) and not words & _DID and bool(told_of)


# A request that leaders contact POSH instead, not news of them ("I've told SLT").
_HAND_BACK = re.compile(
    r"\b(?:(?:can|could|would|will)\s+(?:the\s+)?(?:leadership|leaders|slt|someone(?:\s+else)?|"
    r"you)(?:\s+team)?\s+(?:do|call|ring|phone|contact|email|take)|you do it|"
    r"can'?t do it|not confident (?:to|about|calling|ringing|doing|enough)|"
    r"can'?t face (?:it|calling|ringing)|rather not (?:call|ring|do))\b",
    re.IGNORECASE,
)
_SAID_OF_LEADERS = frozenset({"told", "said", "know", "knows"})
_UPDATE = frozenset({
    "update", "removed", "down", "gone", "deleted", "reposted", "back", "still", "banned",
    "suspended", "again",
})  # fmt: skip


def _reached_posh(typed: list[str]) -> bool:
    """A word of contact followed closely by POSH ("rang them", "spoke to the helpline"), so
    "they called me a liar" is not one."""
    return any(
        word in _REACHED and set(typed[i + 1 : i + 6]) & _POSH_WORDS for i, word in enumerate(typed)
    )


def _try_again(ctx: Context) -> str:
    f = ctx.facts
    return (
        f"Sorry you couldn't get through. POSH is open {hours_text(f)}: try {f.posh_phone} again "
        f"then, or email {f.posh_email} at any time (the email text above is ready to send). "
        + end_text(ctx)
    )


_ANOTHER = "To report something else, type report."
_POSH_WORDS = frozenset({"them", "posh", "poshs", "helpline", "helplines", "saferinternet"})
_REACHED = _DID | {"reached", "through", "talked"}  # "got through to them"
_TRIED = frozenset({"tried", "calling", "ringing", "phoning", "call", "ring", "get", "left"})
_NOT_REACHED = frozenset({
    "closed", "voicemail", "engaged", "busy", "couldnt", "cant", "didnt", "wasnt", "unable",
    "nobody", "answer",
})  # fmt: skip
_NOT_YET = frozenset({"havent", "hasnt", "not", "yet"})
_LATER = frozenset({
    "will", "ill", "going", "gonna", "later", "tomorrow", "soon", "need", "must", "should", "do",
})  # fmt: skip
_NEW_REPORT = frozenset({"another", "new"})  # "I have another account to report"


def _has(step: Step, value: str) -> Condition:
    return lambda a, f: value in (a.get(step) or ())


# --- the flow ---------------------------------------------------------------------------------

FLOW: tuple[StepSpec, ...] = (
    StepSpec(
        Step.LINKS,
        "links",
        "Paste the TikTok link(s) or @handle(s) – the profile, video or comment. "
        "One or several; in one message or more.",
        accept_links,
        choices=links_choices,
        hint="e.g. https://www.tiktok.com/@fake.account or @fake.account",
    ),
    StepSpec(
        Step.LINK_CHECK,
        "links",
        link_check_text,
        accept_link_check,
        choices=(HANDLE_OK, HANDLE_AGAIN),
        when=never,
        follow_up=True,
    ),
    StepSpec(
        Step.NO_LINK,
        "links",
        "No problem. Describe the account instead: its name, what it showed, and anything "
        "that would help TikTok find it.",
        _text("a short description of the account"),
        when=lambda a, f: a.get(Step.LINKS) == [],
        follow_up=True,
    ),
    StepSpec(
        Step.HARM,
        "harm",
        "What kind of harm is it? Choose all that apply.",
        accept_harm,
        choices=HARM_KINDS,
        multi=True,
    ),
    StepSpec(
        Step.HARM_OTHER,
        "harm",
        "Briefly, what else is it?",
        _text("a few words about the harm"),
        when=_has(Step.HARM, "other"),
        follow_up=True,
    ),
    StepSpec(
        Step.DANGER,
        "safety",
        "Is anyone in immediate danger – for example a specific threat to hurt someone, or "
        "someone at risk of harming themselves?",
        accept_danger,
        choices=yes_no(UNSURE),
    ),
    StepSpec(
        Step.SEXUAL_IMAGES,
        "safety",
        "Does it include sexual or nude images or video of anyone who is, or may be, under 18?",
        accept_sexual_images,
        choices=yes_no(UNSURE),
    ),
    StepSpec(
        Step.TARGET,
        "target",
        "Who is targeted? Choose all that apply.",
        accept_target,
        choices=TARGETS,
        multi=True,
    ),
    StepSpec(
        Step.SEXUAL_IMAGES_AGAIN,
        "target",
        "You said it is sexualised and that it targets pupils. Pupils are under 18, so please "
        "check this once more: does it show any pupil, or anyone who may be under 18, nude, "
        "semi-nude, in underwear or in a sexual way – in a photo, a video or an edit?",
        accept_sexual_images_again,
        choices=yes_no(UNSURE),
        when=_ask_images_again,
        follow_up=True,
    ),
    StepSpec(
        Step.TARGET_STAFF,
        "target",
        "Which member of staff? Their name and role, e.g. “Ms J Patel, Head of Year 9”.",
        accept_target_staff,
        when=_has(Step.TARGET, "staff"),
        follow_up=True,
    ),
    StepSpec(
        Step.TARGET_OTHER,
        "target",
        "Who else is targeted? (Please don't name pupils.)",
        accept_target_other,
        when=_has(Step.TARGET, "other"),
        follow_up=True,
    ),
    StepSpec(
        Step.FIRST_SEEN,
        "first_seen",
        "When was it first seen? Today, yesterday, a day such as Monday or 21/11, or "
        "roughly (“last week”).",
        accept_first_seen,
        choices=DATE_CHOICES,
    ),
    StepSpec(
        Step.FIRST_SEEN_ROUGHLY,
        "first_seen",
        roughly_text,
        accept_roughly,
        choices=roughly_choices,
        when=_vague_first_seen,
        follow_up=True,
    ),
    StepSpec(
        Step.IN_APP,
        "in_app",
        "Has it been reported with TikTok's own Report button?",
        accept_in_app,
        choices=IN_APP_CHOICES,
    ),
    StepSpec(
        Step.IN_APP_WHEN,
        "in_app",
        "When was it reported in the app? (Roughly is fine.)",
        accept_in_app_when,
        choices=DATE_CHOICES,
        when=lambda a, f: a.get(Step.IN_APP) == "yes",
        follow_up=True,
    ),
    StepSpec(
        Step.IN_APP_REPLY,
        "in_app",
        "What did TikTok say? Choose one, or type their answer.",
        accept_in_app_reply,
        choices=TIKTOK_REPLIES,
        when=lambda a, f: a.get(Step.IN_APP) == "yes",
        follow_up=True,
    ),
    StepSpec(
        Step.EVIDENCE,
        "evidence",
        evidence_text,
        accept_evidence,
        choices=EVIDENCE_CHOICES,
        when=lambda a, f: Flag.SEXUAL_IMAGES not in f,
    ),
    StepSpec(
        Step.DESCRIPTION,
        "description",
        description_text,
        accept_description,
        choices=(SKIP,),
    ),
    StepSpec(
        Step.POSTER,
        "poster",
        "Do you know who is behind it? Please don't type any pupil's name – the DSL deals "
        "with that.",
        accept_poster,
        choices=POSTERS,
        accepts_text=False,
    ),
    StepSpec(
        Step.TOLD,
        "told",
        "Who has been told about it so far? Choose all that apply.",
        accept_told,
        choices=TOLD_CHOICES,
        multi=True,
    ),
    StepSpec(
        Step.NAME,
        "you",
        "Your name, please – POSH will want to know who is reporting.",
        accept_name,
        choices=name_choices,
    ),
    StepSpec(
        Step.ROLE,
        "you",
        "What is your role at the school?",
        _text("your role"),
        hint="e.g. Deputy Headteacher, DSL, Head of Year 9",
    ),
    StepSpec(
        Step.CONTACT,
        "you",
        "How can POSH reach you? A phone number, an email address, or both.",
        accept_contact,
        choices=contact_choices,
    ),
    StepSpec(
        Step.WHO_CALLS,
        "posh",
        "Who will contact POSH? One person should, so that POSH hears once and nobody waits "
        "for someone else.",
        accept_who_calls,
        choices=_who_calls_offered,
    ),
    StepSpec(
        Step.SUMMARY,
        "",
        "Submit it now?",
        accept_summary,
        SUMMARY_CHOICES,
        question=False,
        when=never,
        accepts_text=False,
    ),
    StepSpec(
        Step.CHANGE,
        "",
        "Which part would you like to change?",
        accept_change,
        change_choices,
        question=False,
        when=never,
    ),
    StepSpec(
        Step.CANCEL,
        "",
        cancel_text,
        accept_cancel,
        CANCEL_CHOICES,
        question=False,
        when=never,
    ),
    StepSpec(
        Step.RESTART,
        "",
        restart_text,
        accept_restart,
        RESTART_CHOICES,
        question=False,
        when=never,
    ),
    StepSpec(
        Step.RESUME,
        "",
        "You have a report in progress. Carry on with it, or start again?",
        accept_resume,
        RESUME_CHOICES,
        question=False,
        when=never,
    ),
    StepSpec(
        Step.END,
        "",
        end_text,
        accept_end,
        (SENT_CHOICE,),
        question=False,
        when=never,
        accepts_text=False,
    ),
)

SPECS = {s.step: s for s in FLOW}
QUESTIONS = tuple(s for s in FLOW if s.question)
QUESTION_SECTIONS = tuple(dict.fromkeys(s.section for s in QUESTIONS))
MAIN_QUESTIONS = tuple(s for s in QUESTIONS if not s.follow_up)  # follow-ups: by answers
