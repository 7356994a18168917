"""The safety routes: words that mean someone may be at risk, and what the bot says then.

Risk words are a short, readable list, not a model: a false alarm costs one extra question,
a missed one could cost a life, so the list leans towards asking. When any answer at any step
holds one, the engine shows the 999 notice at once and asks the danger question.

Once a report is flagged as possibly holding sexual images of a child, nothing the bot says
about it may ask for, suggest or accept images (UKCIS, "Sharing nudes and semi-nudes", 2024:
making or keeping a copy is an offence). `IMAGE_REQUESTS` lists the wording that would; the
tests hold every path of such a report against it.

Staff do not always answer the under-18 question as they mean it: "no", and then "it rates year
11 girls, photos of them in their underwear". `child_sexual_content` reads every typed answer
for a child and sexual content named together, and the engine then flags the report exactly
as a Yes would. It is a short, readable list with rapidfuzz's small typos (bot.understand), not
a model, and it leans towards flagging; what it leaves out on purpose is written beside it
(a head of year 9, pupils who made the account). An age at the time counts ("nudes of me when I
was 15"): images of someone under 18 when they were taken are a child's, whatever their age now.

Advice to take screenshots is given only with `screenshot_caveat` beside it: the evidence
question is asked before anyone may know what the account holds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Set as AbstractSet

from bot.facts import Facts
from bot.model import Flag, Notice
from bot.understand import similar_to_one, words_of

# Someone, perhaps the reporter, who may want to end their life: risk words, and distress.
WANTING_TO_DIE = (
    r"suicid(?:e|al)",
    r"(?:wants?|wanted|wanting|wanna|going)\s+(?:to\s+)?die",
    r"hang\s+(?:my|him|her|them)sel(?:f|ves)",
    r"take\s+(?:my|his|her|their)\s+own\s+life",
    r"ending\s+it(?:\s+all)?",  # "i feel like ending it"; not "ending its run"
    r"do\s*n[o']?t\s+want\s+to\s+(?:be\s+here|live|go\s+on)(?:\s+any\s*more)?",
)

# Whole words or phrases, matched case-insensitively. Kept short on purpose (see above).
RISK_PATTERNS = (
    r"kill(?:s|ed|ing)?\s+(?:him|her|them|my|me|it|your)self",
    r"kill(?:s|ed|ing)?",
    r"kys",
    r"end(?:s|ing)?\s+(?:my|his|her|their)\s+life",
    r"end\s+it\s+all",
    r"(?:hurt|harm|cut)(?:s|ing)?\s+(?:my|him|her|them|your)sel(?:f|ves)",
    r"self[\s-]?harm(?:ing)?",
    r"overdose",
    r"weapons?",
    r"knife|knives",
    r"guns?",
    r"shoot(?:s|ing)?",
    r"stab(?:s|bed|bing)?",
    r"bombs?",
    r"going\s+to\s+(?:hurt|kill|attack|stab|shoot|bomb|die|jump|beat)\b",
    r"gonna\s+(?:hurt|kill|attack|stab|shoot|bomb|die|jump|beat)\b",
    # Threats said another way (found by an exploratory test), and a home address posted.
    r"batter(?:s|ed|ing)?",
    r"knifed",
    r"acid(?:\s+attack)?",
    r"burn(?:s|ing|t)?\s+(?:\w+\s+){0,2}(?:house|home|car)",
    r"(?:we|they|i)\s+know\s+where\s+(?:you|she|he|they)\s+lives?",
    r"watch\s+(?:your|her|his|their)\s+back",
    r"get\s+what'?s\s+coming",
    r"home\s+address",
    # Said outright, and threats in the future tense (F24, an exploratory test): not "she is
    # not in danger", "in no danger", "it will hurt the school's reputation", "we'll get them to
    # take it down".
    r"(?<!not\s)in\s+(?!no\s)(?:\w+\s+)?danger",
    r"(?:will|'ll|would|'d)\s+(?:hurt|attack|jump|beat)\s+(?:you|u|him|her|them|me|us|some\w+)",
    r"(?:get|gets|getting|got)\s+hurt",
    r"(?:gonna|going\s+to|will|'ll)\s+get\s+(?:you|u|her|him)"  # not "get her account removed"
    r"(?=\s*(?:$|[.,!?]|(?:miss|sir|mr|mrs|ms|after|at|outside|when|tonight|for|and)\b))",
    r"coming\s+for\s+(?:you|u|her|him|them)",
    # Fear for someone's safety, and words that can mean self-harm: the danger question is asked.
    r"(?:scared|afraid|frightened|terrified)\s+(?:to|of)\s+(?:come|coming|go|going|walk\w*)"
    r"\s+(?:in|into|to|home|out)",
    r"(?:scared|afraid|fears?|fearing)\s+for\s+(?:my|his|her|their|our)\s+(?:life|lives|safety)",
    r"do\s+something\s+(?:stupid|silly|daft)",
    *WANTING_TO_DIE,
)
_RISK = re.compile(r"\b(?:" + "|".join(RISK_PATTERNS) + r")\b", re.IGNORECASE)

# Words of someone not coping, perhaps the reporter themselves. They get support at once, as
# well as what any risk words bring: a report about an attack on them can be the worst day of
# a member of staff's career.
DISTRESS_PATTERNS = (
    r"can\s*(?:no|')?t\s+cope",
    r"cannot\s+cope",
    r"not\s+coping",
    # not "they can't take it down", not "I'm not ok with this"
    r"can\s*(?:no|')?t\s+(?:go\s+on|take\s+(?:it|this|any\s*more)|do\s+this\s+any\s*more)"
    r"(?!\s+(?:down|off|away|back|up|out))",
    r"(?:i'?m|i\s+am)\s+not\s+(?:ok|okay|alright|all\s+right)(?!\s+(?:with|about|that|if))",
    r"falling\s+apart",
    r"breaking\s+down",
    # F24 (an exploratory test): "i've been crying all day, i can't face going in"
    r"crying\s+all\s+(?:day|night|week|morning|the\s+time)",
    r"can\s*(?:no|')?t\s+(?:stop\s+crying|face)",
    r"i(?:\s+(?:might|may|could|will)|'ll)\s+do\s+something\s+(?:stupid|silly|daft)",
    # The reporter's own wish to die, in the first person: "he wants to die" is a risk word,
    # and the support it brings is not said to the reporter as if it were theirs.
    r"(?:i'?m|i\s+am|i\s+feel|i\s+felt|feeling)\s+suicidal",
    r"i\s+(?:just\s+|really\s+)?(?:want|wanted|wanna)\s+(?:to\s+)?die",
    r"(?:feel|felt|feeling)\s+like\s+ending\s+it(?:\s+all)?",
    r"thinking\s+(?:of|about)\s+ending\s+it(?:\s+all)?",
    r"i(?:'?m|\s+am)\s+(?:going\s+to\s+|gonna\s+)?end(?:ing)?\s+it(?:\s+all)?",
    r"i\s+do\s*n[o']?t\s+want\s+to\s+(?:be\s+here|live|go\s+on)(?:\s+any\s*more)?",
    r"hang(?:ing)?\s+myself",
    r"take\s+my\s+own\s+life",
    r"kill(?:ing)?\s+myself",
    r"end(?:ing)?\s+my\s+life",
    r"(?:hurt|harm|cut)(?:ing)?\s+myself",
)
_DISTRESS = re.compile(r"\b(?:" + "|".join(DISTRESS_PATTERNS) + r")\b", re.IGNORECASE)

# Wording that asks for, suggests or accepts images. Never shown on a report flagged
# SEXUAL_IMAGES (case-insensitive substrings).
IMAGE_REQUESTS = (
    "do you have screenshots",
    "take screenshots",
    "take a screenshot",
    "screenshots showing",
    "screenshots that show",
    "keep screenshots",
    "keep them somewhere secure",
    "screenshots held",
    "with the link and date showing",
)

# An answer that speaks of copies of the content (on a report flagged for a child's images).
_COPIES = re.compile(
    r"\b(?:screen\s?shots?|screenshott?(?:ed|ing)|screen\s?grabs?|photos?|pictures?|pics?|"
    r"images?|saved|copy|copies|copied|downloaded|recorded|recording)\b",
    re.IGNORECASE,
)


# --- a child and sexual content, named together in someone's own words -----------------------

# Words for a child or a pupil (single words; rapidfuzz allows a small typo in longer ones).
CHILD_WORDS = frozenset({
    "pupil", "pupils", "student", "students", "girl", "girls", "boy", "boys", "child",
    "children", "kid", "kids", "minor", "minors", "underage", "schoolgirl", "schoolgirls",
    "schoolboy", "schoolboys", "teen", "teens", "teenager", "teenagers", "daughter", "son",
    "juvenile", "juveniles", "youngster", "youngsters", "tutee", "tutees", "lad", "lads",
})  # fmt: skip
# A class of pupils: "one of my form group", "my tutor group", "someone in my form" (not "my
# form tutor", "in my form room", "the form of a meme").
_GROUP_WORDS = frozenset({"form", "tutor", "reg", "registration"})
_GROUPS = frozenset({"group", "groups", "class", "classes"})
_FORM_OWNERS = frozenset({"my", "our", "his", "her", "their", "your"})
_NOT_A_FORM = frozenset({"tutor", "tutors", "teacher", "teachers", "room", "rooms", "time"})
# School years, as typed: "year 9", "yr 9", "y9", "year9", "year 11s", "year nine".
_YEAR_NUMBERS = (
    *(str(n) for n in range(1, 14)),
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen",
)  # fmt: skip
_YEAR_WORDS = ("year", "years", "yr", "yrs", "y")
_SCHOOL_YEAR = frozenset(
    {f"{w}{n}{s}" for w in _YEAR_WORDS for n in _YEAR_NUMBERS[:13] for s in ("", "s")}
)  # one token: "y9", "year11s"
_YEAR_NUMBER = frozenset({f"{n}{s}" for n in _YEAR_NUMBERS for s in ("", "s")})
# "under 16", "under age"
_UNDER_AGE = frozenset({"13", "13s", "16", "16s", "18", "18s", "age", "aged"})
# Words for sexual content. The flag is for images of a child, so a word that says only
# "sexual" counts with a picture near it ("sexual pics of pupils"); the rest are images
# already ("nude", "in her underwear"). "Sexual comments about Mr Smith" made by pupils, the
# bot's main case, is not a child's image.
NUDITY_WORDS = frozenset({
    "nude", "nudes", "nudity", "naked", "seminude", "topless",
    "underwear", "lingerie", "knickers", "bra", "bras", "bikini", "bikinis", "explicit",
    "porn", "porno", "pornographic", "pornography", "nsfw", "indecent", "intimate",
    "onlyfans", "nudez", "upskirt", "upskirts", "csam", "sext", "sexts", "sexted",
})  # fmt: skip
# Images a child may have taken of themselves: sent or shared by a pupil, they are still a
# child's sexual images ("a year 9 girl sent nudes", "sexting pics from year 10"), unless
# they are said to be of an adult ("deepfake nudes of me made by year 10 boys").
SELF_IMAGE_WORDS = frozenset({
    "nudes", "nude", "naked", "nudez", "sexting", "sexts", "sext", "sexted", "dickpic",
    "dickpics",
})  # fmt: skip
# Words that say whose images they are not: an adult, or pictures made up of one.
_ADULT_SUBJECT = frozenset({
    "me", "mr", "mrs", "miss", "ms", "dr", "sir", "teacher", "teachers", "staff", "head",
    "headteacher", "him", "her", "them", "colleague", "colleagues", "deputy", "teaching",
    "tutor", "principal", "governor",
})  # fmt: skip
_MADE_UP = frozenset({
    "deepfake", "deepfakes", "edit", "edits", "edited", "photoshopped", "ai", "fake", "fakes",
    "faked", "morphed",
})  # fmt: skip
_NOT_ACCOUNT = frozenset({"account", "accounts", "profile", "profiles", "page", "tiktok"})
_NEAR_IMAGES = 3  # words either side of the images word that say whose, or made up
# Nudity said in two words: "no clothes on", "dick pics", "clothes off", "his top off".
_TWO_WORD_NUDITY = frozenset({
    ("no", "clothes"), ("without", "clothes"), ("clothes", "off"), ("dick", "pic"),
    ("dick", "pics"), ("semi", "nude"), ("semi", "nudes"), ("semi", "naked"),
    ("top", "off"), ("tops", "off"), ("shirt", "off"), ("shirts", "off"),
})  # fmt: skip
SEXUAL_WORDS = NUDITY_WORDS | {
    "sexual", "sexaul", "sexul", "sexuel", "sexually", "sexualised", "sexualized",
    "sexualising", "sexualizing", "sex", "sexy", "sexting",
}  # fmt: skip
IMAGE_WORDS = frozenset({
    "photo", "photos", "pic", "pics", "picture", "pictures", "image", "images", "video",
    "videos", "vid", "vids", "clip", "clips", "selfie", "selfies", "snap", "snaps", "film",
    "films", "filmed", "footage", "deepfake", "deepfakes", "edit", "edits", "edited",
})  # fmt: skip
_IMAGE_NEAR = 6  # words between "sexual" and the picture it describes
_NOT_CONTENT = frozenset({"ed", "education", "educ", "educator", "educators", "lessons"})
# A school year that names a member of staff, not a child: "head of year 9", "year 9 tutor".
_STAFF_BEFORE = frozenset({"head", "heads", "leader", "lead", "director", "deputy", "hoy"})
_STAFF_AFTER = frozenset({
    "teacher", "teachers", "tutor", "tutors", "lead", "leader", "team", "head", "coordinator",
    "manager", "assistant",
})  # fmt: skip
# Children who made or posted it, not children in it: "made by year 10 boys", "pupils posted".
_AGENT_BEFORE = frozenset({"by", "from"})
_AGENT_VERBS = frozenset({
    "made", "make", "makes", "making", "posted", "post", "posts", "posting", "created",
    "create", "creates", "creating", "set", "sets", "setting", "run", "runs", "running",
    "started", "start", "starts", "shared", "share", "shares", "sharing", "sent", "send",
    "sends", "sending", "uploaded", "upload", "uploads", "uploading", "behind", "wrote",
    "write", "writes", "writing", "said", "say", "says", "saying",
})  # fmt: skip
_AUXILIARIES = frozenset({
    "is", "are", "was", "were", "has", "have", "had", "been", "who", "that", "keep", "keeps",
    "kept", "probably", "maybe", "might", "may", "also", "all", "i", "think", "we",
})  # fmt: skip
_NEGATING = frozenset({
    "not", "no", "nothing", "none", "isnt", "wasnt", "arent", "werent", "never", "without",
    "nor", "neither",
})  # fmt: skip
_FILLERS = frozenset({"a", "an", "the", "any", "of", "some", "our", "my", "at", "all", "really"})
NEAR = 25  # words: a child and sexual content this close together are one thing said


def _is(word: str, known: frozenset[str]) -> bool:
    return word in known or similar_to_one(word, _fuzzy(known))


@functools.cache
def _fuzzy(known: frozenset[str]) -> tuple[str, ...]:
    """The words a typo may stand for: five letters or more (a few fixed sets, kept)."""
    return tuple(sorted(k for k in known if len(k) >= 5))


def _before(words: list[str], i: int) -> str:
    """The word before position i, past little words ("not a pupil", "by the boys")."""
    j = i - 1
    while j >= 0 and words[j] in _FILLERS:
        j -= 1
    return words[j] if j >= 0 else ""


# Whom an age is said of ("when I was 15", "she's 16"), and whom the images are of ("of me",
# "of Miss Jones"): when they differ, the age is someone else's, perhaps whoever made them.
_PRONOUN_OF = {
    "i": "me", "im": "me", "she": "her", "shes": "her", "he": "him", "hes": "him",
    "they": "them", "theyre": "them", "we": "us",
}  # fmt: skip
_TITLES = {"miss": "her", "mrs": "her", "ms": "her", "mr": "him", "sir": "him"}


def _whose(words: list[str]) -> set[str]:
    """Whom the text says something is of: "nudes of me" → {"me"}, "of Mr Smith" → {"him"},
    "of me and her" → {"me", "her"}."""
    found: set[str] = set()
    for i, w in enumerate(words):
        if w not in _OBJECTS and w not in _TITLES:
            continue
        before = words[i - 1] if i else ""
        if before == "of" or (before == "and" and i >= 2 and words[i - 2] in found):
            found.add(_TITLES.get(w, w))
    return found


def _my_form(words: list[str], i: int) -> bool:
    """Whether words[i] is "form" meaning a form group: "someone in my form", not "my form
    tutor" (`_NOT_A_FORM`)."""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    owner = words[i - 1] if i > 0 else ""
    return words[i] == "form" and owner in _FORM_OWNERS and nxt not in _NOT_A_FORM


def _children(words: list[str]) -> tuple[list[int], list[int]]:
    """Where a child is named as someone the content may be about (see the lists above), and
    where as its maker or sender ("made by year 10 boys", "a year 9 girl sent …")."""
    spans: list[tuple[int, int]] = []  # [start, end) of each mention
    i = 0
    while i < len(words):
        w, nxt = words[i], words[i + 1] if i + 1 < len(words) else ""
        aged = _age_words(words, i)
        if aged:  # "a 14 year old", "14yo", "a sixth former"
            spans.append((i, i + aged))
            i += aged
        elif (
            (w in _YEAR_WORDS and nxt in _YEAR_NUMBER)
            or (w == "under" and nxt in _UNDER_AGE)
            or (w in _GROUP_WORDS and nxt in _GROUPS)
        ):
            spans.append((i, i + 2))
            i += 2
        elif w in _SCHOOL_YEAR or _is(w, CHILD_WORDS) or _my_form(words, i):
            spans.append((i, i + 1))
            i += 1
        else:
            i += 1
    groups: list[tuple[int, int]] = []  # "year 10 boys" is one mention
    for start, end in spans:
        if groups and groups[-1][1] == start:
            groups[-1] = (groups[-1][0], end)
        else:
            groups.append((start, end))
    found: list[int] = []
    agents: list[int] = []
    whose = _whose(words)
    for start, end in groups:
        before = _before(words, start)
        after = [w for w in words[end:] if w not in _AUXILIARIES][:2]
        if before in _NEGATING:
            continue
        said_of = _PRONOUN_OF.get(words[start])  # "he's 15": the images are of him?
        if said_of and whose and said_of not in whose:  # "fake nudes of me, he's 15"
            continue
        if (
            before in _AGENT_BEFORE
            or (  # not "a pupil made by"
                after and after[0] in _AGENT_VERBS and after[1:] != ["by"]
            )
        ):
            agents.append(start)
            continue
        first = words[start]  # "head of year 9", "year 9 tutor", "form group tutor"
        staff_year = first in _YEAR_WORDS or first in _SCHOOL_YEAR or first in _GROUP_WORDS
        if staff_year and (
            (after and after[0] in _STAFF_AFTER)
            or (start >= 2 and words[start - 1] == "of" and words[start - 2] in _STAFF_BEFORE)
        ):
            continue
        found.append(start)
    return found, agents


_AGE_TOKEN = re.compile(r"(\d{1,2})(?:yo|yos|yr|yrs|yrold|yearold|yearolds)")
# An age at the time, under 18: "when I was 15", "she's 16", "me aged 17", "of her at 16",
# "from when she was at school herself", "from my school days". Images of someone under 18
# when they were taken are a child's, whatever their age now.
_AGE_NAMES = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen")
_CHILD_AGES = {str(n) for n in range(18)} | set(_AGE_NAMES)
_TEEN_AGES = {str(n) for n in range(13, 18)} | set(_AGE_NAMES[3:])  # "at 10" may be a time
_SUBJECTS = frozenset({"i", "she", "he", "they", "we", "you"})
_BEING = frozenset({"was", "were", "is", "are", "am"})
_SUBJECT_BEING = frozenset({"im", "shes", "hes", "theyre", "youre"})  # "I'm", "she's"
_ONLY = frozenset({"only", "just", "still", "barely", "about", "around", "nearly", "like"})
_NOT_AN_AGE = frozenset({
    "minutes", "mins", "hours", "hrs", "days", "weeks", "months", "times", "of", "percent",
    "posts", "videos", "photos", "pics", "pictures", "comments", "accounts", "people",
    "teachers", "staff",
})  # fmt: skip
_OBJECTS = frozenset({"me", "her", "him", "them", "us"})
_TIMES = frozenset({"am", "pm", "oclock", "last", "this", "tonight", "today", "yesterday"})
_SELVES = frozenset({"myself", "herself", "himself", "themselves", "ourselves", "yourself"})
_POSSESSIVES = frozenset({"my", "her", "his", "their", "your"})


def _an_age(words: list[str], i: int) -> int:
    """1 if words[i] is an age under 18, 3 with "years old" after it; 0 if it is not one, or
    counts something else ("15 minutes", "16 years into teaching")."""
    if i >= len(words) or words[i] not in _CHILD_AGES:
        return 0
    rest = words[i + 1 : i + 3]
    if rest[:1] and rest[0] in ("years", "yrs", "year"):
        return 3 if rest[1:] in (["old"], ["of"]) else 0
    return 0 if rest[:1] and rest[0] in _NOT_AN_AGE else 1


def _age_at_the_time(words: list[str], i: int) -> int:
    """How many words at i say someone was (or is) under 18: see `_CHILD_AGES` above."""
    w, nxt = words[i], words[i + 1] if i + 1 < len(words) else ""
    if w in ("aged", "age") and (n := _an_age(words, i + 1)):  # "aged 17"
        return 1 + n
    if w == "at" and _before(words, i) in _OBJECTS and nxt in _TEEN_AGES:  # "of her at 16"
        after = words[i + 2] if i + 2 < len(words) else ""
        return 0 if after in _TIMES or after.isdigit() else 2
    if w in ("from", "in", "during") and nxt in _POSSESSIVES:  # "from my school days"
        days = words[i + 2 : i + 4]
        return 3 if days[:1] == ["schooldays"] else 4 if days == ["school", "days"] else 0
    if w in _SUBJECT_BEING:  # "she's 16"
        j = i + 1
    elif w in _SUBJECTS and nxt in _BEING:  # "when I was 15"
        j = i + 2
    else:
        return 0
    if j < len(words) and words[j] in _ONLY:  # "she was only 14"
        j += 1
    if n := _an_age(words, j):
        return j + n - i
    if words[j : j + 2] in (["at", "school"], ["in", "school"]):  # her schooldays, not her work
        then = words[i - 2 : i] in (["from", "when"], ["back", "when"])
        themselves = j + 2 < len(words) and words[j + 2] in _SELVES
        return j + 2 - i if then or themselves else 0
    return 0


def _age_words(words: list[str], i: int) -> int:
    """How many words at i give an age under 18 ("14 year old", "15yo", "when I was 15"), or
    sixth form."""
    w, rest = words[i], words[i + 1 : i + 3]
    if w == "sixth" and rest[:1] and rest[0] in ("form", "former", "formers"):
        return 2
    if w.isdigit() and int(w) < 18 and rest[:1] and rest[0] in ("year", "years", "yr", "yrs"):
        return 3 if rest[1:] == ["old"] or rest[1:] == ["olds"] else 0
    token = _AGE_TOKEN.fullmatch(w)
    return 1 if token and int(token.group(1)) < 18 else _age_at_the_time(words, i)


def _sexual(words: list[str]) -> list[int]:
    """Where sexual images are named, and not denied ("nothing sexual"): a word for nudity,
    or a sexual word with a picture near it; never sex education."""
    pictures = [i for i, w in enumerate(words) if _is(w, IMAGE_WORDS)]
    found = []
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if (w, nxt) in _TWO_WORD_NUDITY and words[i - 1 : i] != ["to"]:  # not "to top off"
            found.append(i)
            continue
        if not _is(w, SEXUAL_WORDS) or _before(words, i) in _NEGATING:
            continue
        if w == "sex" and nxt in _NOT_CONTENT:
            continue
        if _is(w, NUDITY_WORDS) or any(abs(p - i) <= _IMAGE_NEAR for p in pictures):
            found.append(i)
    return found


def _of_an_adult(words: list[str], at: int) -> bool:
    """The images at `at` are said to be of an adult ("nudes of our teacher", "naked pictures
    of her"), or made up ("fake nudes", "deepfake nudes"; not "not ai", not "a fake account")."""
    near = range(max(0, at - _NEAR_IMAGES), min(len(words), at + _NEAR_IMAGES + 1))
    for i in near:
        w, nxt = words[i], words[i + 1] if i + 1 < len(words) else ""
        if w in _MADE_UP and nxt not in _NOT_ACCOUNT and _before(words, i) not in _NEGATING:
            return True
        if w == "of" and i > at:
            j = i + 1
            while j < len(words) and words[j] in _FILLERS:
                j += 1
            return j < len(words) and words[j] in _ADULT_SUBJECT
    return False


# A No to the under-18 question that says whose the images are, and that they were under 18
# then: "no, they're of me, but from when I was 17". No word in it says "sexual": the question
# did. Not "no idea, probably a 14 year old" (who made the account).
_DENIALS = frozenset({"no", "nope", "nah", "not"})
_WHOSE = re.compile(r"\b(?:theyre|its|are|were|is|was) of (?:me|her|him|them|us)\b|\bin them\b")


def _no_but_a_child_then(words: list[str]) -> bool:
    if not words or words[0] not in _DENIALS:
        return False
    whose = _WHOSE.search(" ".join(words))
    return bool(whose) and any(_age_words(words, c) for c in _children(words)[0])


def child_sexual_content(text: str) -> bool:
    """Whether the text speaks of sexual content involving a child or pupil: "nude photos of a
    year 9 girl", "rates year 11 girls … in their underwear", "explicit video of a year 8 boy"."""
    words = words_of(text)
    sexual = _sexual(words)
    if not sexual:
        return _no_but_a_child_then(words)
    if "csam" in words:  # child sexual abuse material: a child's, by its name
        return True
    children, makers = _children(words)
    if any(abs(c - s) <= NEAR for c in children for s in sexual):
        return True
    own = [s for s in sexual if words[s] in SELF_IMAGE_WORDS or words[s] == "dick"]
    own = [s for s in own if not _of_an_adult(words, s)]
    return any(abs(c - s) <= NEAR for c in makers for s in own)


def names_a_child(text: str) -> bool:
    """A child or pupil is named as someone the content is about ("a sixth form student",
    "a year 11 girl"; not "Mr Jones, head of year 9", nor the boys who made it)."""
    return bool(_children(words_of(text))[0])


def describes_child_images(text: str, flags: AbstractSet[Flag]) -> bool:
    """The one reading of a child's sexual images, wherever words are typed (a report's
    answers, after the handoff, a leader's note): the words say so, or, on a report that
    targets pupils, sexual images with no adult named ("the one where she is in her
    underwear")."""
    if child_sexual_content(text):
        return True
    return Flag.PUPILS_TARGETED in flags and sexual_images_named(text)


def sexual_images_named(text: str) -> bool:
    """Sexual or nude images named, no age said and not said to be an adult's ("the one where
    she is in her underwear"): on a report that targets pupils, a child's (bot.engine)."""
    words = words_of(text)
    return bool(_sexual(words)) and not set(words) & _NAMED_ADULT


# An adult named in the words ("fake nudes of miss jones", "nude photos of me"): whoever
# "her" is on a report that targets pupils, these are not a pupil.
_NAMED_ADULT = frozenset({
    "mr", "mrs", "ms", "miss", "mx", "dr", "sir", "teacher", "teachers", "staff", "me",
    "myself", "head", "headteacher", "adult", "adults",
})  # fmt: skip


def screenshot_caveat_in_question(facts: Facts) -> str:
    """`screenshot_caveat`, short, in the question that asks whether there are screenshots."""
    return (
        "But never screenshot a sexual image of anyone who may be under 18, not even as "
        "evidence: tell your DSL instead; its web address goes only to the IWF, "
        f"{facts.iwf_report_url}."
    )


def screenshot_caveat(facts: Facts) -> str:
    """Said wherever screenshots are suggested, on every report: whoever asks does not know
    yet what the account holds."""
    return (
        "One thing always comes first: never screenshot, save or forward a sexual image of "
        "anyone who is, or may be, under 18 – not even as evidence. If you see one, tell your "
        "DSL straight away; only its web address goes to the Internet Watch Foundation "
        f"({facts.iwf_report_url}), and a child being groomed or abused to CEOP "
        f"({facts.ceop_url})."
    )


def risk_words(text: str) -> list[str]:
    """The risk words or phrases in the text, as typed ([] if none)."""
    return [m.group(0) for m in _RISK.finditer(text.replace("’", "'"))]


def distressed(text: str) -> bool:
    """Words of someone not coping, or who may want to end their life (`DISTRESS_PATTERNS`)."""
    return bool(text) and _DISTRESS.search(text.replace("’", "'")) is not None


def distress_notice(facts: Facts, *, saved: bool = True, again: bool = False) -> Notice:
    """Support for the person writing, said at once, before anything else in the report.
    `saved`: a report is still open (not after a cancel); `again`: said before in it."""
    if again:
        return Notice(
            f"Samaritans are there any time on {facts.samaritans_phone}, or {facts.shout_text}; "
            f"{facts.staff_support_name} on {facts.staff_support_phone}. If you are not safe, "
            f"call {facts.emergency}.",
            tone="danger",
            title="Support is there now",
        )
    later = "You don't have to finish this report now: your answers are saved. " * saved
    return Notice(
        f"I'm so sorry you're going through this. {later}"
        "If you might act on thoughts of ending your life, or you are "
        f"not safe, call {facts.emergency} now. Samaritans are there any time, day or night, "
        f"free, on {facts.samaritans_phone}, or you can {facts.shout_text}. "
        f"{facts.staff_support_name}'s helpline for anyone working in education is free, "
        f"confidential and open 24/7: {facts.staff_support_phone}. Please tell someone you "
        "trust at school, too.",
        tone="danger",
        title="You matter: support is there now",
    )


def danger_notice(facts: Facts, *, unsure: bool = False) -> Notice:
    if unsure:
        text = (
            "If you're not sure, treat it as urgent. If anyone could be at risk right now, call "
            f"{facts.emergency}. Then tell your Designated Safeguarding Lead (DSL) straight away."
        )
    else:
        text = (
            f"Call {facts.emergency} now if anyone is in immediate danger, then tell your "
            "Designated Safeguarding Lead (DSL)."
        )
    return Notice(
        text + " I've saved your place – carry on when it is safe.",
        tone="danger",
        title=f"Immediate danger: call {facts.emergency}",
    )


def risk_notice(facts: Facts, *, asking: bool = True) -> Notice:
    """`asking`: the danger question follows (not when it has been asked already)."""
    return Notice(
        "What you wrote may mean someone is at risk. If anyone is in immediate danger, call "
        f"{facts.emergency} now, then tell your Designated Safeguarding Lead (DSL)."
        + (" First, one question:" if asking else ""),
        tone="danger",
        title=f"If anyone is in danger, call {facts.emergency}",
    )


def sexual_images_notice(
    facts: Facts,
    *,
    unsure: bool = False,
    known: bool = False,
    written: bool = False,
    screenshots_said: bool = False,
) -> Notice:
    """`known`: the account is already an open case flagged this way. `written`: the person's
    own words say so (`child_sexual_content`), whatever they answered; `screenshots_said`: the
    screenshot tip was given earlier in this report, and no longer applies."""
    if written:
        start = (
            "Thank you for telling me. From what you wrote, this may include sexual images of "
            "someone under 18, so I'm now treating the report that way, to keep them and you "
            "safe. "
            + (
                "Please set aside what I said earlier about screenshots. "
                if screenshots_said
                else ""
            )
            + "Please don't view it again, and don't copy, screenshot, download, forward or "
            "save it "
        )
    else:
        start = (
            "This account is already reported as possibly holding sexual images of someone "
            "under 18. "
            if known
            else "If it might be, treat it as if it is. "
            if unsure
            else ""
        ) + "Stop: do not view it again, and do not copy, screenshot, download, forward or save it "
    end = (
        " If you have already made a copy, don't share or open it: your DSL decides with the "
        "police what happens to it. I've flagged this report, I won't ask you for any pictures, "
        "and the email to POSH will say only that there is such content, not what it shows."
        if written
        else " I've flagged this report, and I won't ask you for any pictures."
    )
    return Notice(
        start + "– not even as evidence. Tell your Designated Safeguarding Lead (DSL) now; they "
        "will involve the police (101, or 999 if a child is at risk now). Report the web address "
        f"only to the Internet Watch Foundation ({facts.iwf_report_url}), who get such images "
        f"removed. If a child is being groomed or abused, report to CEOP ({facts.ceop_url})." + end,
        tone="danger",
        title="Sexual images of someone under 18",
    )


def mentions_copies(text: str) -> bool:
    """Whether an answer speaks of screenshots, photos or saved copies."""
    return bool(_COPIES.search(text))


def no_copies_notice() -> Notice:
    """On a report flagged for a child's sexual images, an answer mentioned keeping copies."""
    return Notice(
        "Please don't make or keep any screenshot, photo or other copy of it – not even as "
        "evidence – and don't send one here. If one has been made, don't share it or open it "
        "again: tell your Designated Safeguarding Lead (DSL) now; they decide with the police "
        "what happens to it (UKCIS guidance).",
        tone="danger",
        title="Don't keep copies",
    )


def kept_flag_notice(flag: Flag) -> Notice:
    """A safety answer changed to No after a Yes: the flag stays, and the person is told why."""
    what = (
        "possibly including sexual images of someone under 18"
        if flag == Flag.SEXUAL_IMAGES
        else "possibly involving someone in immediate danger"
    )
    return Notice(
        f"To be safe, I'll keep this report flagged as {what}; leadership have already been "
        "alerted, and your DSL can review it.",
        tone="warning",
    )


def pupils_notice() -> Notice:
    return Notice(
        "Because pupils are targeted, tell your Designated Safeguarding Lead (DSL) today: "
        "it is a safeguarding matter. Carry on with this report for the account itself.",
        tone="warning",
        title="Pupils targeted: tell the DSL",
    )


def tell_dsl_notice(flags: AbstractSet[Flag]) -> Notice:
    when = "now" if Flag.DANGER in flags or Flag.SEXUAL_IMAGES in flags else "today"
    return Notice(
        f"Please tell your Designated Safeguarding Lead (DSL) {when}: this report raises a "
        "safeguarding concern, and the DSL decides what happens next (including telling any "
        "pupil's parents).",
        tone="warning",
    )


def no_files_notice(flags: AbstractSet[Flag]) -> Notice:
    """A picture or file arrived: it is not kept, and the person is told why."""
    if Flag.SEXUAL_IMAGES in flags:
        text = (
            "Please don't send pictures or files here, and don't copy or share anything from "
            "this account: the DSL, the police and the IWF route cover it. I haven't kept what "
            "you sent. Please type your answer instead."
        )
    else:
        text = (
            "Please don't send pictures or files here: I don't keep them, and if they could "
            "show a child they must not be shared at all. Keep any evidence where your school "
            "keeps safeguarding records, and type your answer instead."
        )
    return Notice(text, tone="warning")


def support_notice(facts: Facts, flags: AbstractSet[Flag], harm: AbstractSet[str]) -> Notice:
    """For the reporter after the handoff: short, and about the person targeted too."""
    child_images = Flag.SEXUAL_IMAGES in flags
    lines = [
        "Don't reply to the account, and don't discuss it with pupils.",
        "Keep a note of the web addresses and dates somewhere the school controls (not a "
        "personal phone)."
        if child_images
        else "Keep any evidence somewhere the school controls, not on a personal phone. "
        + screenshot_caveat(facts),
        f"{facts.staff_support_name}'s free, confidential helpline is open 24/7 to anyone "
        f"working in education: {facts.staff_support_phone} ({facts.staff_support_url}).",
        "Your union can advise and support you, and the person targeted.",
        f"The police ({facts.police_non_emergency}, or {facts.emergency} in danger) for threats, "
        "malicious communications or intimate images.",
    ]
    if "sexualised" in harm and not child_images:
        lines.append(
            "Sexual images or deepfakes of an adult: the Revenge Porn Helpline, "
            f"{facts.rph_phone} ({facts.rph_hours}; for over-18s; {facts.rph_url}), and "
            f"StopNCII ({facts.stopncii_url}) to stop the images being shared."
        )
    lines += [
        f"If TikTok and POSH have not resolved it: Report Harmful Content ({facts.rhc_url}).",
        "Whether a pupil's parents are told is your DSL's decision.",
    ]
    return Notice("\n".join(f"• {line}" for line in lines), title="Looking after yourselves")
