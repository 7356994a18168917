"""The conversation engine, driven as a front end would: turns in, outbox items out."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from store_helpers import make_case

from bot.clock import FakeClock
from bot.codec import reply_from_dict
from bot.config import Settings
from bot.delivery import Courier
from bot.engine import Engine
from bot.leaders import is_case_command
from bot.lifecycle import CaseAction
from bot.model import (
    JSON,
    Audience,
    Case,
    CaseCard,
    CaseList,
    CaseStatus,
    Conversation,
    Flag,
    HandoffReply,
    Notice,
    OutboxItem,
    Person,
    Platform,
    Question,
    Reply,
    Turn,
)
from bot.ports import UnitOfWork, each_alone, one_at_a_time
from bot.report import build_handoff
from bot.views import Resolved, ResolvedCard, case_view
from storage.memory import MemoryStore

# Wednesday 25 November 2026, 11:00 UK time: POSH is open.
START = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
STAFF = Person(Platform.SLACK, "T1", "U1", name="Ann Teacher", email="ann@school.example")

HAPPY = [
    "https://www.tiktok.com/@fake.mr.smith/video/7301234567890123456?is_from_webapp=1",
    "done",
    "1, 2",
    "no",
    "no",
    "1",
    "Mr J Smith, Head of Maths",
    "yesterday",
    "no",
    "yes",
    "It uses his photo and posts insults about him.",
    "don't know",
    "our dsl",
    "yes that's me",
    "Deputy Headteacher",
    "01632 960 123",
    "I'll contact POSH myself",
]


class Collector:
    """Keeps every item the courier delivers, as the engine made it."""

    def __init__(self) -> None:
        self.items: list[OutboxItem] = []

    async def send(self, item: OutboxItem, reply: Resolved) -> None:
        self.items.append(item)

    def joined(self, replies: Sequence[Resolved]) -> list[list[int]]:
        return each_alone(replies)

    async def send_together(self, items: Sequence[OutboxItem], replies: Sequence[Resolved]) -> None:
        await one_at_a_time(self, items, replies)

    # The leadership channel: each card kept as the item that carried it.
    async def private(self) -> bool:
        return True

    async def post(self, item: OutboxItem, card: ResolvedCard) -> JSON:
        self.items.append(item)
        return {"n": len(self.items)}

    async def update(self, post: JSON, card: ResolvedCard) -> bool:
        return False  # as if gone: the update is posted anew, and kept with its item

    async def find_earlier(self, item: OutboxItem) -> JSON | None:
        return None

    async def scrub(self, post: JSON, text: str) -> None:
        pass

    def replies(self, audience: Audience = Audience.PERSON) -> list[Reply]:
        return [reply_from_dict(i.reply) for i in self.items if i.audience == audience]

    def take(self) -> list[Reply]:
        out = self.replies()
        self.items = [i for i in self.items if i.audience != Audience.PERSON]
        return out


class Roster:
    """The platform's answer to "who leads?", as a test sets it."""

    def __init__(self) -> None:
        self.leaders: set[str] = set()
        self.asked = 0

    async def is_leader(self, person: Person, case_reference: str = "") -> bool | None:
        self.asked += 1
        return person.key in self.leaders


class Bot:
    def __init__(self, store: MemoryStore | None = None, clock: FakeClock | None = None) -> None:
        self.store = store or MemoryStore()
        self.clock = clock or FakeClock(START)
        self.out = Collector()
        self.courier = Courier(
            self.store,
            self.out,
            self.out,
            Platform.SLACK,
            self.clock,
            facts=Settings().facts,
            owner="test",
        )
        self.roster = Roster()
        self.engine = Engine(
            self.store,
            Settings().facts,
            self.clock,
            membership=self.roster,
            on_commit=self.courier.take,
            owner="test",
        )
        self.n = 0

    async def say(
        self, text: str = "", person: Person = STAFF, is_leader: bool | None = None, **kw: object
    ) -> list[Reply]:
        """One turn; `is_leader` says whether the platform counts the person as a leader."""
        if is_leader is not None:
            (self.roster.leaders.add if is_leader else self.roster.leaders.discard)(person.key)
        self.n += 1
        kw.setdefault("delivery_id", f"d{self.n}-{id(self)}")
        direct = await self.engine.handle(Turn(person, text=text, **kw))  # type: ignore[arg-type]
        await self.courier.drain()
        return direct + self.out.take()

    async def report(self, answers: list[str] = HAPPY) -> list[Reply]:
        await self.say(action="start")
        for a in answers:
            await self.say(a)
        return await self.say("submit")


def question(replies: list[Reply]) -> Question:
    qs = [r for r in replies if isinstance(r, Question)]
    assert qs, f"no question in {replies}"
    return qs[-1]


def texts(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies if isinstance(r, Notice | Question))


async def test_happy_path_files_a_case_and_hands_off() -> None:
    bot = Bot()
    replies = await bot.report()
    handoff = next(r for r in replies if isinstance(r, HandoffReply)).handoff
    assert handoff.phone == "0344 381 4772"
    assert handoff.email == "helpline@saferinternet.org.uk"
    assert handoff.phone_uri == "tel:+443443814772"
    assert handoff.mailto.startswith("mailto:helpline@saferinternet.org.uk?subject=TikTok")
    assert "fake.mr.smith/video/7301234567890123456" in handoff.mailto
    assert handoff.open_now and handoff.reference == "TT-2026-0001"
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and case.status == CaseStatus.NEW
    assert case.handles == ("fake.mr.smith",)
    assert case.answers["target_staff"] == "Mr J Smith, Head of Maths"
    assert case.answers["first_seen"] == "2026-11-24"
    assert case.history[0].action == "reported"
    cards = bot.out.replies(Audience.LEADERSHIP)
    assert cards == [CaseCard("TT-2026-0001")]
    after = await bot.store.conversation(STAFF.key)  # waits only for "I've contacted POSH"
    assert after is not None and after.step == "end" and after.answers == {}


async def test_handoff_text_is_the_email_body() -> None:
    bot = Bot()
    replies = await bot.report()
    h = next(r for r in replies if isinstance(r, HandoffReply)).handoff
    assert "TT-2026-0001" in h.body and "https://www.tiktok.com/@fake.mr.smith/video/" in h.body
    assert "Reported to us by: Ann Teacher, Deputy Headteacher – 01632 960 123" in h.body
    assert "Not yet" in h.body  # not reported in the app


async def test_out_of_hours_handoff_says_when_posh_opens() -> None:
    bot = Bot(clock=FakeClock(datetime(2026, 11, 27, 17, 30, tzinfo=UTC)))  # Friday evening
    replies = await bot.report()
    h = next(r for r in replies if isinstance(r, HandoffReply)).handoff
    assert not h.open_now
    assert h.opens == "on Monday 30 November at 10:00"


async def test_every_step_rejects_a_wrong_answer_kindly_and_asks_again() -> None:
    bot = Bot()
    await bot.say(action="start")
    wrong = {
        "links": "https://instagram.com/fake",
        "harm": "purple",
        "danger": "banana",
        "first_seen": "next tuesday week",
        "contact": "ring me",
    }
    for answer in HAPPY:
        q = question(await bot.say("resume"))
        if q.step in wrong:
            again = await bot.say(wrong[q.step])
            problem = next(r for r in again if isinstance(r, Notice))
            assert problem.tone == "warning" and problem.text
            assert question(again).step == q.step
        await bot.say(answer)
    assert question(await bot.say("resume")).step == "summary"


async def test_back_cancel_help_work_at_every_step() -> None:
    bot = Bot()
    await bot.say(action="start")
    await bot.say("@fake.account")
    await bot.say("done")
    assert question(await bot.say("back")).step == "links"
    helped = await bot.say("help")
    assert "back" in texts(helped) and question(helped).step == "links"
    asked = await bot.say("cancel")
    assert question(asked).step == "cancel"  # answers exist: confirm before deleting them
    assert question(await bot.say("no")).step == "links"
    await bot.say("cancel")
    cancelled = await bot.say("yes")
    assert "Nothing was saved or sent" in texts(cancelled)
    assert await bot.store.conversation(STAFF.key) is None
    assert await bot.store.cases() == []


async def test_immediate_danger_shows_999_and_the_report_continues() -> None:
    bot = Bot()
    await bot.say(action="start")
    for a in ["@fake.account", "done", "threats"]:
        await bot.say(a)
    replies = await bot.say("yes")
    danger = next(r for r in replies if isinstance(r, Notice) and r.tone == "danger")
    assert "999" in danger.text
    assert question(replies).step == "sexual_images"


async def test_sexual_images_gate_flags_the_case_and_never_asks_for_screenshots() -> None:
    bot = Bot()
    answers = list(HAPPY)
    answers[4] = "yes"  # sexual images of an under-18
    await bot.say(action="start")
    for a in answers[:4]:
        await bot.say(a)
    replies = await bot.say(answers[4])
    guidance = next(r for r in replies if isinstance(r, Notice) and r.tone == "danger")
    for words in ("do not view", "screenshot", "forward", "DSL", "police", "iwf.org.uk"):
        assert words.lower() in guidance.text.lower()
    assert "alerted your leadership team" in texts(replies)
    steps = [question(await bot.say(a)).step for a in answers[5:9]]
    steps += [question(await bot.say(a)).step for a in answers[10:]]
    assert "evidence" not in steps
    done = await bot.say("submit")
    h = next(r for r in done if isinstance(r, HandoffReply)).handoff
    assert not any("Screenshots showing" in c for c in h.checklist)
    assert any("web address only" in c for c in h.checklist)
    assert any("IWF" in s for s in h.safety)
    case = await bot.store.case(h.reference)
    assert case is not None and Flag.SEXUAL_IMAGES in case.flags


async def test_pupils_targeted_names_the_dsl_route() -> None:
    bot = Bot()
    await bot.say(action="start")
    for a in ["@fake.account", "done", "2", "no", "no"]:
        await bot.say(a)
    replies = await bot.say("pupils")
    assert "Designated Safeguarding Lead" in texts(replies)
    assert question(replies).step == "first_seen"


async def test_link_with_the_start_command_prefills_the_first_step() -> None:
    bot = Bot()
    replies = await bot.say("https://vm.tiktok.com/ZMabc123/", action="start")
    assert "Got 1" in texts(replies)
    assert question(replies).step == "links"


async def test_second_start_offers_to_carry_on_or_start_again() -> None:
    bot = Bot()
    await bot.say(action="start")
    await bot.say("@fake.account")
    q = question(await bot.say(action="start"))
    assert [c.value for c in q.choices] == ["resume", "restart"]
    assert question(await bot.say(action="resume")).step == "links"
    # Part-way, "start again" is asked first (a slip deletes nothing); yes starts afresh.
    assert question(await bot.say(action="restart")).step == "restart"
    assert question(await bot.say("yes")).step == "links"
    conv = await bot.store.conversation(STAFF.key)
    assert conv is not None and "links" not in conv.answers


async def test_a_restarted_process_resumes_where_the_user_left_off() -> None:
    store = MemoryStore()
    first = Bot(store)
    await first.say(action="start")
    for a in HAPPY[:5]:
        await first.say(a)
    second = Bot(store)  # a new engine on the same store: a restart
    assert question(await second.say("resume")).step == "target"


async def test_an_abandoned_conversation_expires_and_the_user_is_told() -> None:
    bot = Bot()
    await bot.say(action="start")
    await bot.say("@fake.account")
    bot.clock.advance(hours=25)
    replies = await bot.say("done")
    assert "expired" in texts(replies)
    assert question(replies).step == "links"


async def test_a_redelivered_turn_changes_nothing() -> None:
    bot = Bot()
    await bot.say(action="start", delivery_id="ev1")
    await bot.say("@fake.account", delivery_id="ev2")
    again = await bot.say("@fake.account", delivery_id="ev2")
    assert again == []
    conv = await bot.store.conversation(STAFF.key)
    assert conv is not None and len(conv.answers["links"]) == 1


async def test_change_an_answer_from_the_summary() -> None:
    bot = Bot()
    await bot.say(action="start")
    for a in HAPPY:
        await bot.say(a)
    await bot.say("change")
    assert question(await bot.say("contact")).step == "name"
    await bot.say("1")
    await bot.say("Headteacher")
    summary = await bot.say("07700 900123")
    assert question(summary).step == "summary"
    assert "Ann Teacher, Headteacher" in texts(summary) and "07700 900123" in texts(summary)


async def test_references_are_unique_and_leaders_can_move_a_case() -> None:
    bot = Bot()
    await bot.report()
    other = Person(Platform.SLACK, "T1", "U2", name="Bob")
    answers = ["@another.fake", *HAPPY[1:]]
    await bot.say(action="start", person=other)
    for a in answers:
        await bot.say(a, person=other)
    await bot.say("submit", person=other)
    refs = [c.reference for c in await bot.store.cases()]
    assert refs == ["TT-2026-0001", "TT-2026-0002"]
    lead = Person(Platform.SLACK, "T1", "U9", name="Head")
    await bot.say(person=lead, action="case:sent:TT-2026-0001", is_leader=True)
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and case.status == CaseStatus.SENT_TO_POSH
    assert case.history[-1].who == "Head" and case.history[-1].new == "sent_to_posh"
    assert CaseCard("TT-2026-0001", update=True) in bot.out.replies(Audience.LEADERSHIP)


async def test_an_outsider_cannot_move_a_case() -> None:
    bot = Bot()
    await bot.report()
    outsider = Person(Platform.SLACK, "T1", "U7", name="Eve")
    replies = await bot.say(person=outsider, action="case:close:TT-2026-0001", is_leader=False)
    assert "Only members of the leadership channel" in texts(replies)
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and case.status == CaseStatus.NEW and len(case.history) == 1


async def test_my_reports_lists_only_my_cases() -> None:
    bot = Bot()
    await bot.report()
    mine = await bot.say("my reports")
    [listing] = [r for r in mine if isinstance(r, CaseList)]
    assert listing.references == ("TT-2026-0001",)
    assert listing.lines == ("TT-2026-0001 – New – @fake.mr.smith – Wed 25 Nov 2026, 11:00",)
    other = Person(Platform.SLACK, "T1", "U2")
    theirs = await bot.say("my reports", person=other)
    assert any(isinstance(r, CaseList) and r.references == () for r in theirs)


async def test_a_bug_shows_a_reference_code_and_logs_no_case_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot = Bot()

    secret = "secret-case-text"

    async def broken(person_key: str) -> None:
        raise KeyError(secret)

    bot.store.conversation = broken  # type: ignore[method-assign,assignment]
    replies = await bot.say("@fake.account")
    assert len(replies) == 1 and "ERR-" in texts(replies)
    assert "secret-case-text" not in caplog.text and "KeyError" in caplog.text


LEAD = Person(Platform.SLACK, "T1", "U9", name="Head")


async def test_a_second_report_of_the_same_account_is_linked_to_the_open_case() -> None:
    bot = Bot()
    await bot.report()
    await bot.say(person=LEAD, action="case:assign:TT-2026-0001", is_leader=True)
    other = Person(Platform.SLACK, "T1", "U2", name="Bob")
    answers = ["tiktok.com/@Fake.Mr.Smith", *HAPPY[1:]]
    await bot.say(action="start", person=other)
    for a in answers:
        await bot.say(a, person=other)
    replies = await bot.say("submit", person=other)
    assert "already case TT-2026-0001, and Head is contacting POSH" in texts(replies)
    assert not any(isinstance(r, HandoffReply) for r in replies)
    original = await bot.store.case("TT-2026-0001")
    linked = await bot.store.case("TT-2026-0002")
    assert original is not None and original.extra_reports == 1
    assert linked is not None and linked.duplicate_of == "TT-2026-0001" and not linked.is_open
    assert bot.out.replies(Audience.LEADERSHIP)[-1] == CaseCard("TT-2026-0001", update=True)


async def test_a_report_added_to_a_case_already_with_posh_says_so_to_both() -> None:
    """Found by an exploratory test: the reporter was told someone "is contacting POSH" about a
    case already sent, and nobody was asked to pass on what the new report added."""
    bot = Bot()
    await bot.report()
    await bot.say("sent TT-2026-0001", person=LEAD, is_leader=True)
    other = Person(Platform.SLACK, "T1", "U2", name="Bob")
    await bot.say(action="start", person=other)
    for a in ["tiktok.com/@Fake.Mr.Smith", *HAPPY[1:]]:
        await bot.say(a, person=other)
    replies = await bot.say("submit", person=other)
    assert "already case TT-2026-0001, and it is already with POSH" in texts(replies)
    assert "is contacting POSH" not in texts(replies)
    original = await bot.store.case("TT-2026-0001")
    assert original is not None
    view = case_view(original, Settings().facts, bot.clock.now())
    latest = dict(view.lines)["Latest report of this account"]
    assert "came after the case went to POSH: pass on what is new" in latest


async def test_leaders_type_commands_with_reasons_and_notes() -> None:
    bot = Bot()
    await bot.report()
    refused = await bot.say("refused TT-2026-0001 no violation", person=LEAD, is_leader=True)
    assert "TT-2026-0001 is now “New”, so “TikTok refused” doesn't apply" in texts(refused)
    await bot.say("sent TT-2026-0001", person=LEAD, is_leader=True)
    again = texts(await bot.say("sent TT-2026-0001", person=LEAD, is_leader=True))
    # Found by an exploratory test: "TT-2026-0001 is sent to posh", not the status's label.
    assert "TT-2026-0001 is now “Sent to POSH”, so “Sent to POSH” doesn't apply." in again
    asked = await bot.say("close TT-2026-0001", person=LEAD, is_leader=True)
    assert "needs a reason on record. Send me: close TT-2026-0001 because" in texts(asked)
    await bot.say("note TT-2026-0001 POSH called back", person=LEAD, is_leader=True)
    done = await bot.say("removed TT-2026-0001 TikTok took it down", person=LEAD, is_leader=True)
    assert "now “Removed”" in texts(done)
    shown = await bot.say("show TT-2026-0001", person=LEAD, is_leader=True)
    history = next(r for r in shown if isinstance(r, Notice) and r.title == "History").text
    assert "New → Sent to POSH" in history and "POSH called back" in history
    assert "TikTok took it down" in history
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and case.history[-1].action == "viewed"


async def test_a_refused_move_changes_nothing_and_posts_nothing() -> None:
    """Found by an exploratory test: `removed REF` on a removed case re-posted the leaders'
    card as "Updated" though nothing had changed."""
    bot = Bot()
    await bot.report()
    await bot.say("removed TT-2026-0001", person=LEAD, is_leader=True)
    bot.roster.leaders.add(LEAD.key)
    before = await bot.store.case("TT-2026-0001")
    now = bot.clock.now()
    for work in (
        await bot.engine.desk.command(Turn(LEAD, text="removed TT-2026-0001"), now),
        await bot.engine.desk.press(Turn(LEAD), CaseAction("removed", "TT-2026-0001"), now),
        await bot.engine.desk.press(Turn(LEAD), CaseAction("sent", "TT-2026-0001"), now),
    ):
        assert "doesn't apply" in texts(work.replies)
        assert (work.outbox, work.cases) == ([], {})  # no card update, nothing written
    replies = await bot.say("removed TT-2026-0001", person=LEAD)
    assert "doesn't apply" in texts(replies)
    assert not any(isinstance(r, CaseCard) for r in replies)
    assert await bot.store.case("TT-2026-0001") == before


async def test_a_reference_typed_short_or_in_lower_case_names_its_case() -> None:
    """An exploratory test: "tt-2026-1" found no case; a leader types what they see, roughly."""
    bot = Bot()
    await bot.report()
    done = await bot.say("Sent tt-2026-1", person=LEAD, is_leader=True)  # a verb in any case
    assert "TT-2026-0001: done" in texts(done)
    shown = await bot.say("show tt-2026-01", person=LEAD, is_leader=True)
    assert "History" in [r.title for r in shown if isinstance(r, Notice)]


async def test_a_leader_s_command_takes_the_odd_forms_of_a_reference() -> None:
    """Found by an exploratory test: "note TT 2026 0001 hi" was read as the start of a report
    (not a TikTok link), and a full stop after the reference went on record as the reason."""
    bot = Bot()
    await bot.report()
    typed = ("note TT 2026 0001 hi", "note tt–2026–0001 – two", "note 0001: three")
    for command in (*typed, "note TT2026/0001 four"):
        told = texts(await bot.say(command, person=LEAD, is_leader=True))
        assert told.startswith("Note added to TT-2026-0001."), command
    told = texts(await bot.say("sent TT-2026-0001.", person=LEAD, is_leader=True))
    assert "TT-2026-0001: done" in told
    case = await bot.store.case("TT-2026-0001")
    assert case is not None
    assert [h.note for h in case.history[-5:]] == ["hi", "two", "three", "four", ""]
    assert case.status == CaseStatus.SENT_TO_POSH
    for answer in ("sent 2 videos", "removed 2024 posts", "note 00012 x"):  # a reporter's words
        assert not is_case_command(answer), answer


async def test_a_reference_that_finds_no_case_says_what_form_works() -> None:
    bot = Bot()
    await bot.report()
    for command in ("show TT-2025-0001", "sent TT-2026-0009", "note TT-2026-0009 hi"):
        told = texts(await bot.say(command, person=LEAD, is_leader=True))
        assert "I can't find case" in told and "References look like TT-2026-0002" in told


async def test_views_are_permission_checked() -> None:
    bot = Bot()
    await bot.report()
    outsider = Person(Platform.SLACK, "T1", "U7", name="Eve")
    assert "Only members" in texts(await bot.say("cases", person=outsider))
    assert "Only members" in texts(await bot.say("show TT-2026-0001", person=outsider))
    assert "Only members" in texts(await bot.say("note TT-2026-0001 hi", person=outsider))
    own = await bot.say("show TT-2026-0001")  # the reporter may see their own report
    assert not any(isinstance(r, CaseCard) for r in own)
    view = next(r for r in own if isinstance(r, Notice) and r.title == "Your report TT-2026-0001")
    assert view.text.startswith("Status: New") and "History" not in texts(own)
    listing = await bot.say("cases", person=LEAD, is_leader=True)
    assert any(isinstance(r, CaseList) and r.references == ("TT-2026-0001",) for r in listing)


async def test_a_press_on_an_earlier_question_is_not_taken_as_an_answer() -> None:
    bot = Bot()
    await bot.say(action="start")
    await bot.say("@fake.account")
    await bot.say("done")
    replies = await bot.say(action="none", step="links")  # "No link" from the first question
    assert "earlier question" in texts(replies)
    assert question(replies).step == "harm"
    conv = await bot.store.conversation(STAFF.key)
    assert conv is not None and conv.answers["links"] != []


class YieldingStore(MemoryStore):
    """Reads and writes that give way to other tasks, as a disk store's do."""

    async def case(self, reference: str) -> Case | None:
        await asyncio.sleep(0.001)
        return await super().case(reference)

    async def save_case(self, case: Case) -> None:
        await asyncio.sleep(0.001)
        await super().save_case(case)


async def test_two_leaders_pressing_at_once_both_land_in_the_history() -> None:
    bot = Bot(YieldingStore())
    await bot.report()
    other_lead = Person(Platform.SLACK, "T1", "U8", name="Deputy")
    await asyncio.gather(
        bot.say(person=LEAD, action="case:assign:TT-2026-0001", is_leader=True),
        bot.say("note TT-2026-0001 called POSH", person=other_lead, is_leader=True),
    )
    case = await bot.store.case("TT-2026-0001")
    assert case is not None
    assert {h.action for h in case.history} >= {"reported", "assigned", "note"}


async def test_leaders_see_only_their_own_workspace() -> None:
    bot = Bot()
    await bot.report()
    elsewhere = Person(Platform.SLACK, "T-OTHER", "U9", name="Other head")
    listing = await bot.say("cases", person=elsewhere, is_leader=True)
    assert any(isinstance(r, CaseList) and r.references == () for r in listing)
    refused = await bot.say(person=elsewhere, action="case:close:TT-2026-0001", is_leader=True)
    assert "can't find case TT-2026-0001" in texts(refused)
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and case.is_open


async def test_link_buttons_can_be_chosen_by_number_as_the_terminal_shows_them() -> None:
    bot = Bot()
    await bot.say(action="start")
    await bot.say("@fake.account")
    assert question(await bot.say("1")).step == "harm"  # 1. That's all
    other = Bot()
    await other.say(action="start")
    assert question(await other.say("1")).step == "no_link"  # 1. No link


async def test_a_number_typed_at_carry_on_or_start_again_answers_that_question() -> None:
    bot = Bot()
    await bot.say(action="start")
    for a in HAPPY[:3]:
        await bot.say(a)
    assert [c.value for c in question(await bot.say(action="start")).choices] == [
        "resume",
        "restart",
    ]
    fresh = await bot.say("2")  # "Start again" – not "No" to the danger question
    assert question(fresh).step == "links"
    conv = await bot.store.conversation(STAFF.key)
    assert conv is not None and "danger" not in conv.answers
    await bot.say("@fake.account")
    await bot.say(action="start")
    assert question(await bot.say("1")).step == "links"  # "Carry on"
    await bot.say(action="start")
    confused = await bot.say("purple")
    assert "Carry on or Start again" in texts(confused)


async def test_no_after_a_link_means_that_is_all_and_links_can_be_cleared() -> None:
    bot = Bot()
    await bot.say(action="start")
    await bot.say("@fake.account")
    assert question(await bot.say("no")).step == "harm"
    conv = await bot.store.conversation(STAFF.key)
    assert conv is not None and conv.answers["links"][0]["handle"] == "fake.account"


async def test_a_report_cannot_be_sent_with_its_links_cleared_and_nothing_instead() -> None:
    bot = Bot()
    await bot.say(action="start")
    for a in HAPPY:
        await bot.say(a)
    await bot.say("change")
    await bot.say("links")
    await bot.say("clear")
    await bot.say("back")
    held = await bot.say("submit")
    assert "One answer is missing" in texts(held)
    assert question(held).step in ("links", "no_link")
    assert await bot.store.cases() == []


async def test_a_second_report_adds_its_news_to_the_open_case() -> None:
    bot = Bot()
    await bot.report()
    other = Person(Platform.SLACK, "T1", "U2", name="Bob")
    answers = list(HAPPY)
    answers[0] = "@fake.mr.smith https://www.tiktok.com/@fake.mr.smith/video/7309999999999999999"
    answers[2] = "threats"
    answers[3] = "yes"  # immediate danger, which the first report did not raise
    answers[8:9] = ["yes", "yesterday", "no violation"]  # reported in the app
    await bot.say(action="start", person=other)
    for a in answers:
        await bot.say(a, person=other)
    replies = await bot.say("submit", person=other)
    assert "already case TT-2026-0001" in texts(replies)
    original = await bot.store.case("TT-2026-0001")
    assert original is not None and Flag.DANGER in original.flags
    assert "threats" in original.answers["harm"]
    assert "7309999999999999999" in str(original.answers["links"])
    assert original.answers["in_app_reply"] == "no_violation"
    note = original.history[-1]
    assert note.action == "linked_report" and "Threats of violence" in note.note
    second = await bot.store.case("TT-2026-0002")
    assert second is not None and second.duplicate_of == "TT-2026-0001"
    leadership = bot.out.replies(Audience.LEADERSHIP)
    assert CaseCard("TT-2026-0001", update=True) in leadership  # the open case's card


async def test_the_same_account_reported_by_another_school_is_not_linked() -> None:
    bot = Bot()
    await bot.report()
    elsewhere = Person(Platform.TEAMS, "tenant-b", "U5", name="Cy")
    await bot.say(action="start", person=elsewhere)
    for a in HAPPY:
        await bot.say(a, person=elsewhere)
    replies = await bot.say("submit", person=elsewhere)
    assert "already being handled" not in texts(replies)
    second = await bot.store.case("TT-2026-0002")
    assert second is not None and second.is_open and not second.duplicate_of


async def test_pictures_sent_in_the_chat_are_refused_kindly_and_the_report_waits() -> None:
    bot = Bot()
    await bot.say(action="start")
    replies = await bot.say("", has_files=True)
    assert "don't send pictures" in texts(replies)
    assert question(replies).step == "links"
    with_text = await bot.say("@fake.account", has_files=True)
    assert "don't send pictures" in texts(with_text) and "Got 1" in texts(with_text)


async def test_a_leaders_figures_count_their_own_schools_cases_over_many_pages() -> None:
    """The figures are counted a page of cases at a time (250 cases: three pages), and only
    the leader's own school's cases count."""
    bot = Bot()
    here, there = Person(Platform.SLACK, "T1", "U1"), Person(Platform.SLACK, "T2", "U2")
    cases = [
        make_case(f"TT-2026-{n:04d}", reporter=here if n % 5 else there) for n in range(1, 251)
    ]
    await bot.store.commit(UnitOfWork(cases=cases))
    figures = await bot.say("stats", person=LEAD, is_leader=True)
    text = next(r for r in figures if isinstance(r, Notice) and r.title.startswith("TikTok"))
    assert "TikTok reports: 200 (200 open" in text.text


async def test_the_retention_review_lists_their_schools_due_cases_earliest_first() -> None:
    """Read a page at a time (250 cases: three pages), kept in review order across pages."""
    bot = Bot()
    here, there = Person(Platform.SLACK, "T1", "U1"), Person(Platform.SLACK, "T2", "U2")
    due_on = {60: "2025-03-01", 130: "2024-01-01", 170: "2026-01-01", 220: "2025-01-01"}
    cases = [
        make_case(
            f"TT-2026-{n:04d}",
            reporter=there if n == 220 else here,
            review_on=due_on.get(n, "2099-01-01"),
        )
        for n in range(1, 251)
    ]
    await bot.store.commit(UnitOfWork(cases=cases))
    replies = await bot.say("retention review", person=LEAD, is_leader=True)
    notice = next(r for r in replies if isinstance(r, Notice) and r.title.startswith("Due"))
    assert notice.title == "Due for retention review (3)"
    listed = [line.split(" ")[0] for line in notice.text.splitlines() if line.startswith("TT-")]
    assert listed == ["TT-2026-0130", "TT-2026-0060", "TT-2026-0170"]


async def test_leaders_get_the_figures_in_chat_and_others_do_not() -> None:
    bot = Bot()
    await bot.report()
    await bot.say(person=LEAD, action="case:sent:TT-2026-0001", is_leader=True)
    figures = await bot.say("stats", person=LEAD, is_leader=True)
    text = next(r for r in figures if isinstance(r, Notice) and r.title.startswith("TikTok"))
    assert "TikTok reports: 1" in text.text and "Report to POSH" in text.text
    assert "Only members" in texts(await bot.say("stats"))


def test_a_cancelled_report_says_how_to_start_again_where_it_was_made() -> None:
    """The terminal's chat ends on cancel: "Type report" would lead nowhere there."""
    bot = Bot()

    def said(person: Person) -> str:
        conv = Conversation("c", person, "links", START, START)
        return bot.engine._cancelled_text(conv)

    assert "Run reportbot chat whenever" in said(Person(Platform.TERMINAL, "local", "me"))
    assert "Type report whenever" in said(STAFF)


async def test_a_reporter_without_a_profile_name_is_recorded_by_the_name_they_gave() -> None:
    """From an exploratory test: the terminal's "done, rang them" was recorded under the
    computer's login name; a person with no profile name gave theirs in the report."""
    bot = Bot()
    nameless = Person(Platform.SLACK, "T1", "U7")
    await bot.say(action="start", person=nameless)
    for a in [*HAPPY[:13], "Priya Shah", *HAPPY[14:]]:
        await bot.say(a, person=nameless)
    await bot.say("submit", person=nameless)
    assert "noted that you have contacted POSH" in texts(
        await bot.say("done, rang them", person=nameless)
    )
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and [h.who for h in case.history][-1] == "Priya Shah"


async def test_a_child_s_images_in_a_correction_at_the_summary_flag_it_and_show_it_again() -> None:
    """A correction in the person's own words goes to the list of parts; one that describes
    a child's sexual images flags the report first and shows the summary again instead."""
    bot = Bot()
    await bot.say(action="start")
    for a in HAPPY:
        await bot.say(a)
    told = texts(await bot.say("also there are nudes of a year 9 girl on it"))
    assert "may include sexual images of someone under 18" in told
    assert "Submit it now?" in told and "Which part" not in told
    conv = await bot.store.conversation(STAFF.key)
    assert conv is not None and Flag.SEXUAL_IMAGES in conv.flags


async def test_an_in_app_report_of_unknown_day_is_given_no_day_in_any_record() -> None:
    """Found by an exploratory test: "don't know" became today, "(the day staff gave)", in
    the timeline, the CSV and the figures."""
    from bot.export_csv import csv_row
    from bot.timeline import timeline

    bot = Bot()
    await bot.say(action="start")
    at = HAPPY.index("yesterday") + 1  # the in-app question
    for answer in [*HAPPY[:at], "yes", "dont know", "no violation", *HAPPY[at + 1 :]]:
        await bot.say(answer)
    await bot.say("submit")
    [case] = await bot.store.cases()
    rows = dict(timeline(case))
    assert rows["Reported in the TikTok app"].startswith("day not known (by ")
    assert "the day staff gave" not in str(rows)
    assert csv_row(case)["reported_in_app"] == "day not known"
    assert case.status_times["reported_in_app"] == case.history[-1].at  # not back-dated


async def test_a_first_message_telling_everything_is_kept_for_leaders_not_posh() -> None:
    """Found by an exploratory test: a rushed first message kept only its links, and the
    person was asked everything again with no word about the rest."""
    rushed = (
        "URGENT fake acct tiktok.com/@missjones_pe2 pretending to be miss jones PE, sexual "
        "comments about her, posted today, pupils yr 11 we think, DSL knows"
    )
    bot = Bot()
    told = texts(await bot.say(rushed, action="start"))
    assert "Got 1: @missjones_pe2" in told and "what you wrote goes with it" in told
    for answer in HAPPY[1:]:
        await bot.say(answer)
    await bot.say("submit")
    [case] = await bot.store.cases()
    assert [h.note for h in case.history if h.action == "note"] == [f"First message: {rushed}"]
    assert "miss jones PE" not in build_handoff(case, Settings().facts, START).body


async def test_a_leader_assigns_a_case_to_someone_named_in_chat() -> None:
    """Found by an exploratory test: "assign TT-… to Mrs Green" assigned the leader typing it,
    with "to Mrs Green" as the reason."""
    bot = Bot()
    await bot.report()
    told = texts(await bot.say("assign TT-2026-0001 to Mrs Green", person=LEAD, is_leader=True))
    assert "TT-2026-0001: Mrs Green is contacting POSH." in told
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and case.assignee == "Mrs Green" and case.history[-1].note == ""
    await bot.say("assign 0001 because I know the account", person=LEAD, is_leader=True)
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and case.assignee == LEAD.name
    assert case.history[-1].note == "I know the account"


# --- found in review of this change -------------------------------------------------------------


async def test_words_naming_a_case_are_still_read_for_safety() -> None:
    """A reference in the message sent it to "Did you mean…?" before any safety check."""
    bot = Bot()
    await bot.report()
    await bot.say(action="start")
    await bot.say("@other.fake")
    told = texts(await bot.say("same as TT-2026-0001, now posting nudes of a year 9 girl"))
    assert "may include sexual images of someone under 18" in told
    told = texts(await bot.say("same as TT-2026-0001, he says he'll stab him and I can't cope"))
    assert "999" in told and "Samaritans" in told


async def test_the_words_that_brought_the_danger_question_go_with_the_alert() -> None:
    bot = Bot()
    await bot.say(action="start")
    for answer in ("@x.fake", "done", "he says he will stab mr smith at the gates", "yes"):
        await bot.say(answer)
    [case] = await bot.store.cases()
    assert case.history[0].note == "he says he will stab mr smith at the gates"


async def test_after_the_handoff_words_are_read_as_they_are_meant() -> None:
    for said, status in (
        ("rang them, they will get back to me in 48 hours", "sent_to_posh"),
        ("emailed posh, they need the link again", "sent_to_posh"),
        ("will ring them tomorrow", "new"),
        ("leadership said I should do it", "new"),
    ):
        bot = Bot()
        await bot.report()
        await bot.say(said)
        [case] = await bot.store.cases()
        assert case.status == status, said
        assert case.posh_owner == "reporter", said  # none of these hands it back


async def test_back_at_start_again_carries_on_where_it_was() -> None:
    bot = Bot()
    await bot.say(action="start")
    for answer in ("@x.fake", "done", "1"):
        await bot.say(answer)
    assert question(await bot.say("start again")).step == "restart"
    assert question(await bot.say("no wait")).step == "danger"


async def test_assign_with_a_polite_word_takes_it_on_yourself() -> None:
    bot = Bot()
    await bot.report()
    told = texts(await bot.say("assign TT-2026-0001 please", person=LEAD, is_leader=True))
    assert "You are contacting POSH" in told
    case = await bot.store.case("TT-2026-0001")
    assert case is not None and case.assignee == LEAD.name
