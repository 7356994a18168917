"""Recognise TikTok account, video and short links in whatever staff paste.

Links arrive in every shape a phone or browser produces: with or without a scheme, with
tracking parameters, upper-case hosts, several to a message, or wrapped by Slack as
`<https://...|label>`. This module turns that text into canonical `TikTokLink` values and
gives a kind, plain-English `LinkError` for anything it cannot use.

It is pure (stdlib only, no I/O) and linear-time: tokens are found by splitting, not by one
large regex, so a long or hostile message cannot cause catastrophic backtracking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from bot.errors import LinkError

# A 10,000-character message is processed in full; past this we stop rather than scan a paste
# of a whole document.
MAX_MESSAGE_CHARS = 20_000
# The longest real TikTok link with tracking parameters is a few hundred characters.
MAX_TOKEN_CHARS = 2_048

EXAMPLE = "https://www.tiktok.com/@name"

HINT_UNREADABLE = (
    "I couldn't read that as a TikTok link or @handle. Please paste a TikTok link such as "
    f"{EXAMPLE}, or type the account's @handle."
)
HINT_NOT_TIKTOK = (
    "That link is not on TikTok (it is on {host}). Please paste a TikTok link such as "
    f"{EXAMPLE} or an @handle."
)
HINT_NOT_ACCOUNT = (
    "That TikTok link doesn't point to an account, video or photo. In TikTok, open the account "
    "or video, tap Share, then Copy link, and paste that here."
)
HINT_BAD_HANDLE = (
    "That @handle doesn't look like a TikTok username. Usernames are 2 to 24 letters, numbers, "
    "underscores or dots, and don't end with a dot."
)
HINT_BAD_ITEM = (
    "That TikTok link looks cut off: the video or photo number is missing. Please copy the "
    "link again from TikTok's Share button."
)
HINT_BAD_SHORT = (
    "That TikTok short link looks incomplete. Please copy the link again from TikTok's Share "
    "button."
)
HINT_TOO_LONG = (
    "That link is too long to be a TikTok link. Please paste just the link to the account or video."
)
HINT_EMAIL = (
    "That looks like an email address. Please paste the TikTok account's link, such as "
    f"{EXAMPLE}, or its @handle."
)
HINT_MESSAGE_TOO_LONG = (
    "That message is too long for me to read. Please send just the TikTok links or @handles."
)


class LinkKind(StrEnum):
    PROFILE = "profile"
    VIDEO = "video"
    PHOTO = "photo"
    COMMENT = "comment"
    SHORT = "short"
    HANDLE = "handle"


@dataclass(frozen=True)
class TikTokLink:
    """One TikTok account, video, photo post or short link, in canonical form."""

    url: str  # canonical URL; "" for a bare @handle typed without a link
    handle: str | None  # lower-case, no '@'; None for short and old mobile links
    kind: LinkKind
    item_id: str | None = None  # numeric video/photo id
    comment_id: str | None = None  # a comment link's comment, kept: POSH needs the comment

    @property
    def label(self) -> str:
        """A short human form for messages and case cards."""
        if self.kind is LinkKind.COMMENT:
            return f"@{self.handle} comment {self.comment_id} on video {self.item_id}"
        if self.handle is None:
            return self.url
        if self.item_id is not None:
            return f"@{self.handle} {self.kind} {self.item_id}"
        return f"@{self.handle}"


def profile_url(handle: str) -> str:
    return f"https://www.tiktok.com/@{handle.lstrip('@').lower()}"


# --- tokens ------------------------------------------------------------------------------------

# Slack wraps links as <url> or <url|label>. [^<>]* cannot overlap its delimiters, so a run
# of stray brackets costs linear time.
_SLACK_WRAPPED = re.compile(r"<([^<>]*)>")
# Slack user, channel and special mentions (<@U024BE7LH>, <#C1|x>, <!here>): not TikTok handles.
_SLACK_MENTION = re.compile(r"@[UWB][A-Z0-9]{2,}|[#!].*")
_SEPARATORS = re.compile(r"[\s,;]+")
# Zero-width characters that phones paste into copied links.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
# '_' is deliberately absent: handles may begin or end with it.
_LEADING_PUNCT = "([{<\"'“‘`*~"
_TRAILING_PUNCT = ")]}>\"'”’`*~.,;:!?"
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
_PORT = re.compile(r":\d{1,5}")
# Only bare domains (no scheme, no path) with one of these endings count as links, so that
# words such as "Mr.Smith" or "e.g." in the same message are ignored.
_COMMON_TLDS = frozenset(
    {"com", "net", "org", "uk", "co", "io", "me", "tv", "app", "ly", "gl", "be", "info", "biz"}
    | {"us", "ca", "au", "nz", "ie", "de", "fr", "es", "it", "nl", "eu", "xyz", "link", "site"}
    | {"online", "shop", "page"}
)


def _unwrap_slack(match: re.Match[str]) -> str:
    target = match.group(1).split("|", 1)[0].strip()
    if _SLACK_MENTION.fullmatch(target):
        return " "
    # The label after '|' is display text a sender chose; only the real target counts.
    return f" {target} "


def _unescape_slack(text: str) -> str:
    # Slack escapes exactly these three; &amp; last so "&amp;lt;" stays literal.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _clean(token: str) -> str:
    """Strip invisible characters and the punctuation that surrounds a link in prose."""
    token = token.translate(_INVISIBLE).strip()
    return token.lstrip(_LEADING_PUNCT).rstrip(_TRAILING_PUNCT)


def _tokens(text: str) -> list[str]:
    text = _unescape_slack(_SLACK_WRAPPED.sub(_unwrap_slack, text))
    return [t for t in (_clean(part) for part in _SEPARATORS.split(text)) if t]


TokenType = Literal["handle", "url", "email", "word"]


def _looks_like_domain(token: str) -> bool:
    """True for scheme-less links such as "tiktok.com/@x" or "instagram.com"."""
    host = re.split(r"[/?#]", token, maxsplit=1)[0]
    host = _PORT.sub("", host).rstrip(".").lower()
    labels = host.split(".")
    if len(labels) < 2 or not all(_is_label(label) for label in labels):
        return False
    tld = labels[-1]
    if len(tld) < 2 or not tld.isalpha():
        return False
    return "/" in token or "tiktok" in host or tld in _COMMON_TLDS


def _is_label(label: str) -> bool:
    # isalnum() admits non-Latin letters so that lookalike hosts are still seen as links.
    return 0 < len(label) <= 63 and label.replace("-", "").isalnum()


def _classify(token: str) -> TokenType:
    if token.startswith("@"):
        # "@https://www.tiktok.com/@x" is a link someone prefixed with '@'.
        rest = token[1:]
        return "url" if "/" in rest and _is_url(rest) else "handle"
    if token.lower().startswith("mailto:"):
        return "email"
    if _is_url(token):
        return "url"
    if "@" in token and "/" not in token:
        return "email"
    return "word"


def _is_url(token: str) -> bool:
    return _SCHEME.match(token) is not None or _looks_like_domain(token)


# --- normalising -------------------------------------------------------------------------------

# TikTok usernames: letters, digits, '_' and '.', 2-24 characters, not ending in '.'.
_HANDLE = re.compile(r"[A-Za-z0-9_.]{1,23}[A-Za-z0-9_]")
_ITEM_ID = re.compile(r"[0-9]{1,25}")
_SHORT_CODE = re.compile(r"[A-Za-z0-9]{3,32}")
_SHORT_HOSTS = frozenset({"vm.tiktok.com", "vt.tiktok.com"})
_MOBILE_VIDEO = re.compile(r"([0-9]{1,25})(?:\.html)?")
_SAFE_HOST = re.compile(r"[a-z0-9.\-]{1,100}")


def normalise(token: str) -> TikTokLink:
    """Turn one link or @handle into its canonical `TikTokLink`, or raise `LinkError`."""
    cleaned = _clean(_unescape_slack(_SLACK_WRAPPED.sub(_unwrap_slack, token)))
    return _normalise_clean(cleaned, token)


def _normalise_clean(cleaned: str, original: str) -> TikTokLink:
    if len(cleaned) > MAX_TOKEN_CHARS:
        raise LinkError(HINT_TOO_LONG, original)
    if not cleaned or any(c.isspace() for c in cleaned):  # normalise() takes one token
        raise LinkError(HINT_UNREADABLE, original)
    kind = _classify(cleaned)
    if kind == "handle":
        return _from_handle(cleaned[1:], original)
    if kind == "url":
        return _from_url(cleaned.removeprefix("@"), original)
    if kind == "email":
        raise LinkError(HINT_EMAIL, original)
    raise LinkError(HINT_UNREADABLE, original)


def _valid_handle(handle: str, original: str) -> str:
    if not _HANDLE.fullmatch(handle):
        raise LinkError(HINT_BAD_HANDLE, original)
    return handle.lower()


def _from_handle(handle: str, original: str) -> TikTokLink:
    return TikTokLink(url="", handle=_valid_handle(handle, original), kind=LinkKind.HANDLE)


def _from_url(text: str, original: str) -> TikTokLink:
    if _SCHEME.match(text) is None:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:  # e.g. an unbalanced '[' read as an IPv6 address
        raise LinkError(HINT_UNREADABLE, original) from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise LinkError(HINT_UNREADABLE, original)
    if host != "tiktok.com" and not host.endswith(".tiktok.com"):
        if not host:
            raise LinkError(HINT_UNREADABLE, original)
        raise LinkError(HINT_NOT_TIKTOK.format(host=_display_host(host)), original, host)
    # Query and fragment are dropped – they are tracking (_t, _r, sender_device) or language –
    # except a comment's id, which is what a comment link points at.
    segments = [s for s in unquote(parts.path).split("/") if s]
    if host in _SHORT_HOSTS:
        return _short(f"https://{host}/", segments, original)
    if segments and segments[0].lower() == "t":
        return _short("https://www.tiktok.com/t/", segments[1:], original)
    if segments and segments[0].startswith("@"):
        return _account(segments, _comment_id(parts.query), original)
    if len(segments) == 2 and segments[0].lower() == "v":
        return _mobile_video(segments[1], original)
    raise LinkError(HINT_NOT_ACCOUNT, original)


def _comment_id(query: str) -> str | None:
    for name, value in parse_qsl(query):
        if name.lower() == "comment_id" and _ITEM_ID.fullmatch(value):
            return value
    return None


def _mobile_video(segment: str, original: str) -> TikTokLink:
    """Old mobile links, m.tiktok.com/v/7301234567890123456.html: a video, account unknown."""
    match = _MOBILE_VIDEO.fullmatch(segment)
    if not match:
        raise LinkError(HINT_BAD_ITEM, original)
    item = match.group(1)
    url = f"https://m.tiktok.com/v/{item}.html"
    return TikTokLink(url=url, handle=None, kind=LinkKind.VIDEO, item_id=item)


def _short(prefix: str, segments: list[str], original: str) -> TikTokLink:
    # Short codes are case-sensitive, so unlike hosts and handles they keep their case.
    if len(segments) != 1 or not _SHORT_CODE.fullmatch(segments[0]):
        raise LinkError(HINT_BAD_SHORT, original)
    return TikTokLink(url=f"{prefix}{segments[0]}/", handle=None, kind=LinkKind.SHORT)


def _account(segments: list[str], comment: str | None, original: str) -> TikTokLink:
    handle = _valid_handle(segments[0][1:], original)
    base = f"https://www.tiktok.com/@{handle}"
    sub = segments[1].lower() if len(segments) > 1 else ""
    if sub in {"video", "photo"}:
        if len(segments) != 3 or not _ITEM_ID.fullmatch(segments[2]):
            raise LinkError(HINT_BAD_ITEM, original)
        kind = LinkKind.VIDEO if sub == "video" else LinkKind.PHOTO
        item = segments[2]
        url = f"{base}/{sub}/{item}"
        if comment:
            url += f"?comment_id={comment}"
            kind = LinkKind.COMMENT
        return TikTokLink(url=url, handle=handle, kind=kind, item_id=item, comment_id=comment)
    # Any other page under an account (/live, /playlist/...) still identifies the account.
    return TikTokLink(url=base, handle=handle, kind=LinkKind.PROFILE)


def _display_host(host: str) -> str:
    """The host as it is safe and useful to repeat back: ASCII, short, without "www."."""
    host = host.removeprefix("www.")
    if not host.isascii():
        try:  # show a lookalike (Cyrillic 'і' in "tіktok.com") in its tell-tale xn-- form
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return "another website"
    return host if _SAFE_HOST.fullmatch(host) else "another website"


# --- messages ----------------------------------------------------------------------------------


def parse_links(text: str) -> tuple[list[TikTokLink], list[LinkError]]:
    """Every TikTok link and @handle in a message, plus one error per unusable link.

    Plain words are ignored, so staff can write around their links. A message with no link or
    handle at all returns one error explaining what to send.
    """
    if len(text) > MAX_MESSAGE_CHARS:
        return [], [LinkError(HINT_MESSAGE_TOO_LONG)]
    links: list[TikTokLink] = []
    errors: list[LinkError] = []
    seen: set[str] = set()
    saw_email = False
    for token in _tokens(text):
        kind = _classify(token)
        if kind == "word":
            continue
        if kind == "email":  # a signature or contact address, not an account
            saw_email = True
            continue
        if token in seen:
            continue
        seen.add(token)
        try:
            links.append(_normalise_clean(token, token))
        except LinkError as error:
            errors.append(error)
    if not links and not errors and BARE_HANDLE.fullmatch(text.strip()):  # "mrs_green_sucks"
        links.append(normalise("@" + text.strip()))
    if not links and not errors:
        errors.append(LinkError(HINT_EMAIL if saw_email else HINT_UNREADABLE, text.strip()[:200]))
    return _dedupe(links), errors


# A username typed without its @ ("mrs.jones.fake"): only one with a dot or underscore inside
# counts, as a plain word ("no", "wrong", "idk") is an answer, not an account.
BARE_HANDLE = re.compile(
    r"(?<![\w@/.])(?=[\w.]*[A-Za-z])(?=[\w.]{2,24}(?![\w.]))\w+(?:[._]\w+)+(?![\w@/])", re.ASCII
)


def _dedupe(links: list[TikTokLink]) -> list[TikTokLink]:
    """Drop repeats, and bare @handles already given as a profile link, keeping order."""
    profiles = {link.handle for link in links if link.kind is LinkKind.PROFILE}
    seen: set[TikTokLink] = set()
    unique: list[TikTokLink] = []
    for link in links:
        if link in seen or (link.kind is LinkKind.HANDLE and link.handle in profiles):
            continue
        seen.add(link)
        unique.append(link)
    return unique


# An @handle followed by a capitalised word reads like a display name cut at a space:
# "my name on tiktok is @Mrs Jones Fake" would otherwise be stored as @mrs, a different,
# real-looking account. Such a handle is confirmed before it is stored.
_CUT_SHORT = re.compile(r"(?<![\w/@])@([A-Za-z0-9_.]{1,24})[ \t]+([A-Z][A-Za-z'’-]+)")


def cut_short(text: str) -> list[tuple[str, str]]:
    """(handle, the words after it) for each typed @handle that looks cut short by a space."""
    found: list[tuple[str, str]] = []
    for match in _CUT_SHORT.finditer(text[:MAX_MESSAGE_CHARS]):
        rest = text[match.end(1) :].strip().split("\n")[0]
        words = " ".join(rest.split()[:4])
        found.append((match.group(1).rstrip(".").lower(), words))
    return found
