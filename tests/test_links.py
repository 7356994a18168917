"""Tests for bot.links: real TikTok link shapes in, canonical links or kind errors out."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import LinkError
from bot.links import (
    MAX_MESSAGE_CHARS,
    LinkKind,
    TikTokLink,
    normalise,
    parse_links,
)

VIDEO_ID = "7301234567890123456"
TRACKING = "?is_from_webapp=1&sender_device=pc&_t=8abcDEF&_r=1&lang=en"

# --- accepted shapes -----------------------------------------------------------------------------

PROFILE = "https://www.tiktok.com/@fake.mr.smith"
VIDEO = f"https://www.tiktok.com/@fake.mr.smith/video/{VIDEO_ID}"
PHOTO = f"https://www.tiktok.com/@fake.mr.smith/photo/{VIDEO_ID}"

ACCEPTED: list[tuple[str, str, str | None, LinkKind, str | None]] = [
    # input, url, handle, kind, item_id
    ("https://www.tiktok.com/@fake.mr.smith", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    ("https://www.tiktok.com/@Fake.Mr.Smith", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    ("tiktok.com/@fake.mr.smith", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    ("www.tiktok.com/@fake.mr.smith", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    ("m.tiktok.com/@fake.mr.smith", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    ("http://www.tiktok.com/@fake.mr.smith", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    ("HTTPS://WWW.TIKTOK.COM/@fake.mr.smith", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    ("https://www.tiktok.com/@fake.mr.smith/", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    (f"{PROFILE}{TRACKING}", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    (f"{PROFILE}?lang=en#top", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    ("https://tiktok.com.:443/@fake.mr.smith", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    ("https://www.tiktok.com/%40fake.mr.smith", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    (
        "https://www.tiktok.com/@fake.mr.smith/live",
        PROFILE,
        "fake.mr.smith",
        LinkKind.PROFILE,
        None,
    ),
    ("(tiktok.com/@fake.mr.smith).", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    (f"{VIDEO}", VIDEO, "fake.mr.smith", LinkKind.VIDEO, VIDEO_ID),
    (f"{VIDEO}{TRACKING}", VIDEO, "fake.mr.smith", LinkKind.VIDEO, VIDEO_ID),
    (f"{VIDEO}/", VIDEO, "fake.mr.smith", LinkKind.VIDEO, VIDEO_ID),
    (
        f"m.tiktok.com/@Fake.Mr.Smith/VIDEO/{VIDEO_ID}?_r=1",
        VIDEO,
        "fake.mr.smith",
        LinkKind.VIDEO,
        VIDEO_ID,
    ),
    (f"{PHOTO}?lang=en", PHOTO, "fake.mr.smith", LinkKind.PHOTO, VIDEO_ID),
    (
        "https://vm.tiktok.com/ZMabc123/",
        "https://vm.tiktok.com/ZMabc123/",
        None,
        LinkKind.SHORT,
        None,
    ),
    ("vm.tiktok.com/ZMabc123", "https://vm.tiktok.com/ZMabc123/", None, LinkKind.SHORT, None),
    (
        "HTTP://VM.TIKTOK.COM/ZMabc123/?x=1",
        "https://vm.tiktok.com/ZMabc123/",
        None,
        LinkKind.SHORT,
        None,
    ),
    ("https://vt.tiktok.com/ZSxyz/", "https://vt.tiktok.com/ZSxyz/", None, LinkKind.SHORT, None),
    ("vt.tiktok.com/ZSxyz/?_t=1&_r=1", "https://vt.tiktok.com/ZSxyz/", None, LinkKind.SHORT, None),
    ("www.tiktok.com/t/ZTabc/", "https://www.tiktok.com/t/ZTabc/", None, LinkKind.SHORT, None),
    ("https://tiktok.com/t/ZTabc", "https://www.tiktok.com/t/ZTabc/", None, LinkKind.SHORT, None),
    ("@fake.mr.smith", "", "fake.mr.smith", LinkKind.HANDLE, None),
    ("@Fake_Mr_Smith", "", "fake_mr_smith", LinkKind.HANDLE, None),
    ("@_x_", "", "_x_", LinkKind.HANDLE, None),
    ("@ab", "", "ab", LinkKind.HANDLE, None),
    ("@" + "a" * 24, "", "a" * 24, LinkKind.HANDLE, None),
    ("@fake.mr.smith.", "", "fake.mr.smith", LinkKind.HANDLE, None),  # sentence full stop
    ("<https://www.tiktok.com/@fake.mr.smith>", PROFILE, "fake.mr.smith", LinkKind.PROFILE, None),
    (
        "<https://www.tiktok.com/@fake.mr.smith|tiktok.com/@x>",
        PROFILE,
        "fake.mr.smith",
        LinkKind.PROFILE,
        None,
    ),
    (
        "\u200bhttps://www.tiktok.com/@fake.mr.smith\u200b",
        PROFILE,
        "fake.mr.smith",
        LinkKind.PROFILE,
        None,
    ),
]


@pytest.mark.parametrize(("text", "url", "handle", "kind", "item_id"), ACCEPTED)
def test_normalise_accepts_real_shapes(
    text: str, url: str, handle: str | None, kind: LinkKind, item_id: str | None
) -> None:
    link = normalise(text)
    assert link == TikTokLink(url=url, handle=handle, kind=kind, item_id=item_id)


@pytest.mark.parametrize(("text", "url", "handle", "kind", "item_id"), ACCEPTED)
def test_parse_links_finds_each_shape_inside_a_sentence(
    text: str, url: str, handle: str | None, kind: LinkKind, item_id: str | None
) -> None:
    links, errors = parse_links(f"Please look at {text} thanks")
    assert errors == []
    assert links == [TikTokLink(url=url, handle=handle, kind=kind, item_id=item_id)]


@pytest.mark.parametrize(
    ("link", "label"),
    [
        (TikTokLink(PROFILE, "fake.mr.smith", LinkKind.PROFILE), "@fake.mr.smith"),
        (TikTokLink("", "fake.mr.smith", LinkKind.HANDLE), "@fake.mr.smith"),
        (
            TikTokLink(VIDEO, "fake.mr.smith", LinkKind.VIDEO, VIDEO_ID),
            f"@fake.mr.smith video {VIDEO_ID}",
        ),
        (
            TikTokLink(PHOTO, "fake.mr.smith", LinkKind.PHOTO, VIDEO_ID),
            f"@fake.mr.smith photo {VIDEO_ID}",
        ),
        (
            TikTokLink("https://vm.tiktok.com/ZMabc123/", None, LinkKind.SHORT),
            "https://vm.tiktok.com/ZMabc123/",
        ),
    ],
)
def test_label(link: TikTokLink, label: str) -> None:
    assert link.label == label


# --- rejected shapes -----------------------------------------------------------------------------

REJECTED: list[tuple[str, str]] = [
    # input, a phrase the staff-facing message must contain
    ("https://www.instagram.com/fake.mr.smith/", "it is on instagram.com"),
    ("instagram.com/fake.mr.smith", "it is on instagram.com"),
    ("https://x.com/fakemrsmith", "it is on x.com"),
    ("https://twitter.com/fakemrsmith", "it is on twitter.com"),
    ("https://www.youtube.com/@fakemrsmith", "it is on youtube.com"),
    ("https://youtu.be/dQw4w9WgXcQ", "it is on youtu.be"),
    ("https://www.facebook.com/fake.mr.smith", "it is on facebook.com"),
    ("bbc.co.uk", "it is on bbc.co.uk"),
    ("https://tiktok.com.evil.example/@fake.mr.smith", "it is on tiktok.com.evil.example"),
    ("tiktok.com.evil.example/@fake.mr.smith", "it is on tiktok.com.evil.example"),
    ("https://nottiktok.com/@fake.mr.smith", "it is on nottiktok.com"),
    ("https://tiktok.co/@fake.mr.smith", "it is on tiktok.co"),
    ("https://www.tiktok.com@evil.example/@fake.mr.smith", "it is on evil.example"),
    ("https://tіktok.com/@fake.mr.smith", "it is on xn--"),  # Cyrillic 'і' lookalike
    ("<https://evil.example/@x|https://www.tiktok.com/@fake.mr.smith>", "it is on evil.example"),
    ("https://www.tiktok.com", "doesn't point to an account"),
    ("tiktok.com", "doesn't point to an account"),
    ("https://www.tiktok.com/explore", "doesn't point to an account"),
    ("https://www.tiktok.com/foryou?lang=en", "doesn't point to an account"),
    ("https://www.tiktok.com/following", "doesn't point to an account"),
    ("https://www.tiktok.com/search?q=mr%20smith", "doesn't point to an account"),
    ("https://www.tiktok.com/fake.mr.smith", "doesn't point to an account"),
    (f"https://www.tiktok.com/embed/v2/{VIDEO_ID}", "doesn't point to an account"),
    ("https://www.tiktok.com/@fake.mr.smith/video/", "looks cut off"),
    ("https://www.tiktok.com/@fake.mr.smith/video/abc", "looks cut off"),
    (f"https://www.tiktok.com/@fake.mr.smith/photo/{VIDEO_ID}/x", "looks cut off"),
    ("https://vm.tiktok.com/", "short link looks incomplete"),
    ("https://vm.tiktok.com/ZM/", "short link looks incomplete"),
    ("https://vm.tiktok.com/ZMabc/extra/", "short link looks incomplete"),
    ("https://www.tiktok.com/t/", "short link looks incomplete"),
    ("https://www.tiktok.com/@a", "doesn't look like a TikTok username"),
    ("@a", "doesn't look like a TikTok username"),
    ("@" + "a" * 25, "doesn't look like a TikTok username"),
    ("@mr-smith", "doesn't look like a TikTok username"),
    ("@mr.smith's", "doesn't look like a TikTok username"),
    ("@smïth", "doesn't look like a TikTok username"),
    ("a@b.com", "email address"),
    ("mailto:head@school.example", "email address"),
    ("ftp://tiktok.com/@fake.mr.smith", "couldn't read that"),
    ("hello", "couldn't read that"),
    ("", "couldn't read that"),
    ("https://[tiktok.com/@x", "couldn't read that"),
    ("https://www.tiktok.com/@" + "a" * 3000, "too long"),
]


@pytest.mark.parametrize(("text", "phrase"), REJECTED)
def test_normalise_rejects_with_a_helpful_message(text: str, phrase: str) -> None:
    with pytest.raises(LinkError) as caught:
        normalise(text)
    message = str(caught.value)
    assert phrase in message
    # Every hint tells staff what to do next, and none is a bare technical error.
    assert message[0].isupper() and message.endswith((".", "?"))
    assert "Traceback" not in message and "ValueError" not in message


# Links and handles only: email addresses in a message are ignored (signatures), not errors.
_REJECTED_LINKS = [r for r in REJECTED if ("@" in r[0] or "/" in r[0]) and "email" not in r[1]]


@pytest.mark.parametrize(("text", "phrase"), _REJECTED_LINKS)
def test_parse_links_reports_each_rejected_link(text: str, phrase: str) -> None:
    links, errors = parse_links(f"{PROFILE} and {text}")
    assert [link.url for link in links] == [PROFILE]
    assert len(errors) == 1
    assert phrase in str(errors[0])


def test_not_tiktok_error_names_the_host() -> None:
    with pytest.raises(LinkError) as caught:
        normalise("https://www.instagram.com/fake.mr.smith/?igsh=abc")
    assert caught.value.host == "www.instagram.com"
    assert caught.value.token == "https://www.instagram.com/fake.mr.smith/?igsh=abc"
    assert str(caught.value) == (
        "That link is not on TikTok (it is on instagram.com). Please paste a TikTok link such "
        "as https://www.tiktok.com/@name or an @handle."
    )


def test_error_does_not_repeat_unsafe_host_text() -> None:
    with pytest.raises(LinkError) as caught:
        normalise("https://evil*_site_*.example/x")
    assert "it is on another website" in str(caught.value)
    assert "*" not in str(caught.value)


# --- whole messages ------------------------------------------------------------------------------


def test_several_links_separated_by_spaces_commas_and_newlines() -> None:
    text = (
        f"Hi, these two: {PROFILE},https://vm.tiktok.com/ZMabc123/\n"
        f"and this video {VIDEO}{TRACKING}\n\n@other_fake; thanks!"
    )
    links, errors = parse_links(text)
    assert errors == []
    assert [link.label for link in links] == [
        "@fake.mr.smith",
        "https://vm.tiktok.com/ZMabc123/",
        f"@fake.mr.smith video {VIDEO_ID}",
        "@other_fake",
    ]


def test_slack_angle_bracket_forms() -> None:
    text = (
        "<https://www.tiktok.com/@fake.mr.smith?_t=1&amp;_r=1|tiktok.com/@fake.mr.smith> "
        "<http://vm.tiktok.com/ZMabc123/> <@U024BE7LH> <#C0123|general> <!here>"
    )
    links, errors = parse_links(text)
    assert errors == []
    assert [link.url for link in links] == [PROFILE, "https://vm.tiktok.com/ZMabc123/"]


def test_slack_label_never_overrides_the_real_target() -> None:
    links, errors = parse_links("<https://evil.example/x|https://www.tiktok.com/@fake.mr.smith>")
    assert links == []
    assert [e.host for e in errors] == ["evil.example"]


def test_slack_mention_is_not_a_handle_but_a_typed_handle_is() -> None:
    links, _ = parse_links("<@U024BE7LH> says @fake.mr.smith")
    assert [link.label for link in links] == ["@fake.mr.smith"]


def test_duplicates_are_removed_in_order() -> None:
    text = (
        f"{VIDEO} https://www.tiktok.com/@Fake.Mr.Smith?lang=en tiktok.com/@fake.mr.smith/ "
        f"{VIDEO}?_r=1 @fake.mr.smith @other_fake @OTHER_FAKE"
    )
    links, errors = parse_links(text)
    assert errors == []
    # The bare @fake.mr.smith adds nothing to the profile link for the same account.
    assert [link.label for link in links] == [
        f"@fake.mr.smith video {VIDEO_ID}",
        "@fake.mr.smith",
        "@other_fake",
    ]
    assert links[1].kind is LinkKind.PROFILE


def test_repeated_bad_link_gives_one_error() -> None:
    links, errors = parse_links("instagram.com/x instagram.com/x")
    assert links == []
    assert len(errors) == 1


def test_plain_words_are_ignored_when_there_is_a_link() -> None:
    text = f"Mr.Smith e.g. this one (see {PROFILE}) is fake. TikTok said no. Email me: a@b.com"
    links, errors = parse_links(text)
    assert [link.url for link in links] == [PROFILE]
    assert errors == []


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("there is a fake account of me", "couldn't read that as a TikTok link or @handle"),
        ("", "couldn't read that as a TikTok link or @handle"),
        ("   \n ", "couldn't read that as a TikTok link or @handle"),
        ("fakemrsmith", "couldn't read that as a TikTok link or @handle"),
        ("idk", "couldn't read that as a TikTok link or @handle"),
        ("it's head@school.example", "email address"),
    ],
)
def test_message_without_any_link_gets_one_hint(text: str, phrase: str) -> None:
    links, errors = parse_links(text)
    assert links == []
    assert len(errors) == 1
    assert phrase in str(errors[0])


@pytest.mark.parametrize("text", ["fake.mr.smith", " mrs_green_sucks ", "head.teacher2"])
def test_a_username_alone_without_its_at_is_a_handle(text: str) -> None:
    links, errors = parse_links(text)
    assert [(link.kind, link.handle) for link in links] == [(LinkKind.HANDLE, text.strip())]
    assert errors == []


def test_message_with_only_bad_links_gets_their_errors() -> None:
    links, errors = parse_links("https://x.com/a and tiktok.com/explore")
    assert links == []
    assert ["x.com" in str(e) for e in errors] == [True, False]
    assert "doesn't point to an account" in str(errors[1])


def test_over_long_message_is_refused_politely() -> None:
    links, errors = parse_links(PROFILE + " " + "x" * MAX_MESSAGE_CHARS)
    assert links == []
    assert "too long" in str(errors[0])


@pytest.mark.parametrize(
    "text",
    [
        "@" * 10_000,
        "<" * 10_000,
        "<a" * 5_000,
        "a." * 5_000,
        "https://" + "a" * 9_990,
        "tiktok.com/" + "@a/" * 3_000,
        "https://www.tiktok.com/@fake.mr.smith " * 260,
        ("tiktok.com/@a" + "." * 40 + " ") * 180,
        "-" * 10_000,
        "a@" * 5_000,
    ],
)
def test_long_hostile_messages_are_fast(text: str) -> None:
    start = time.perf_counter()
    parse_links(text)
    assert time.perf_counter() - start < 1.0


# --- properties ----------------------------------------------------------------------------------

_handles = st.from_regex(r"[A-Za-z0-9_.]{1,23}[A-Za-z0-9_]", fullmatch=True)
_ids = st.from_regex(r"[0-9]{1,25}", fullmatch=True)
_codes = st.from_regex(r"[A-Za-z0-9]{3,32}", fullmatch=True)
_queries = st.sampled_from(["", "?", TRACKING, "?lang=en#x", "#frag", "?a=%40b&c=/d"])


@st.composite
def tiktok_urls(draw: st.DrawFn) -> str:
    """Real-looking TikTok links with random case, scheme, host, tracking and slashes."""
    scheme = draw(st.sampled_from(["", "http://", "https://", "HTTPS://"]))
    handle = draw(_handles)
    host = draw(st.sampled_from(["tiktok.com", "www.tiktok.com", "m.tiktok.com", "WWW.TikTok.com"]))
    path = draw(
        st.one_of(
            st.just(f"{host}/@{handle}"),
            _ids.map(lambda i: f"{host}/@{handle}/video/{i}"),
            _ids.map(lambda i: f"{host}/@{handle}/photo/{i}"),
            _codes.map(lambda c: f"vm.tiktok.com/{c}"),
            _codes.map(lambda c: f"VT.tiktok.com/{c}"),
            _codes.map(lambda c: f"{host}/t/{c}"),
        )
    )
    slash = draw(st.sampled_from(["", "/"]))
    return f"{scheme}{path}{slash}{draw(_queries)}"


_messy_text = st.lists(
    st.one_of(
        tiktok_urls(),
        _handles.map(lambda h: "@" + h),
        st.text(max_size=30),
        st.sampled_from(["<", ">", "|", "@", "://", "tiktok.com/", "&amp;", ",", "\n", "%"]),
    ),
    max_size=12,
).map(" ".join)


@given(st.text(max_size=500))
def test_parse_links_never_raises_on_any_text(text: str) -> None:
    links, errors = parse_links(text)
    assert links or errors


@given(_messy_text)
def test_parse_links_never_raises_on_link_like_text(text: str) -> None:
    links, errors = parse_links(text)
    assert links or errors
    assert all(isinstance(e, LinkError) and str(e) for e in errors)


@given(tiktok_urls())
def test_generated_tiktok_urls_are_accepted_and_canonical(text: str) -> None:
    link = normalise(text)
    assert link.url.startswith(("https://www.tiktok.com/", "https://vm.", "https://vt."))
    assert "?" not in link.url and "#" not in link.url
    assert normalise(link.url) == link


@given(_messy_text)
def test_normalise_is_idempotent_on_everything_accepted(text: str) -> None:
    links, _ = parse_links(text)
    for link in links:
        if link.url:
            assert normalise(link.url) == link
            assert normalise(link.url).url == link.url
        else:
            assert normalise(link.label) == link


@given(_messy_text)
def test_output_urls_never_carry_query_or_fragment(text: str) -> None:
    links, _ = parse_links(text)
    for link in links:
        assert "?" not in link.url and "#" not in link.url
        assert link.handle is None or link.handle == link.handle.lower()
