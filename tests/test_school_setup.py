"""Setting a school up in chat (bot.school): who may choose the leadership channel, which
channel may be chosen, the school's name and union contact, and the installer's welcome.
The engine decides all of it; the platform only answers `Workplace`'s two questions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.clock import FakeClock
from bot.codec import reply_from_dict
from bot.engine import Engine
from bot.facts import Facts
from bot.model import Notice, Person, Platform, Turn
from bot.school import SETTINGS_KEY, UNSEEN, Place, SchoolSettings, facts_for
from storage.memory import MemoryStore

NOW = datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
INSTALLER = Person(Platform.SLACK, "T1", "U0INSTALL")
ADMIN = Person(Platform.SLACK, "T1", "U0ADMIN")
LEADER = Person(Platform.SLACK, "T1", "U0LEADER")
STAFF = Person(Platform.SLACK, "T1", "U0STAFF")


@dataclass
class Workspace:
    admins: set[str] = field(default_factory=lambda: {"U0ADMIN"})
    places: dict[str, Place] = field(
        default_factory=lambda: {
            "G0LEADERS": Place(private=True, bot_member=True),
            "C0GENERAL": Place(private=False, bot_member=True),
            "G0NOBOT": Place(private=True, bot_member=False),
        }
    )
    leaders: set[str] = field(default_factory=lambda: {"U0LEADER"})
    unsure: bool = False

    async def is_admin(self, person: Person) -> bool | None:
        return None if self.unsure else person.user_id in self.admins

    async def place(self, place: str) -> Place | None:
        return None if place == "G0SLOW" else self.places.get(place, UNSEEN)

    async def is_leader(self, person: Person, case_reference: str = "") -> bool | None:
        return person.user_id in self.leaders


class Rig:
    def __init__(self, workplace: Workspace | None = None) -> None:
        self.store = MemoryStore()
        self.workplace = workplace or Workspace()
        self.seen: list[SchoolSettings] = []
        self.engine = Engine(
            self.store,
            Facts(),
            FakeClock(NOW),
            membership=self.workplace,
            workplace=self.workplace,
            on_school=self.seen.append,
        )
        self.n = 0

    async def say(self, person: Person, text: str, place: str = "") -> str:
        self.n += 1
        turn = Turn(
            person,
            text,
            action="start",
            delivery_id=f"d{self.n}",
            place=place,
            address={"channel": person.user_id},
        )
        before = {i.id for i in await self.store.outbox_items()}
        assert await self.engine.handle(turn) == []
        new = [i for i in await self.store.outbox_items() if i.id not in before]
        return "\n".join(r.text for i in new if isinstance(r := reply_from_dict(i.reply), Notice))

    async def settings(self) -> SchoolSettings:
        return SchoolSettings.from_json(await self.store.get_meta(SETTINGS_KEY))


async def test_the_installer_is_welcomed_once_and_may_then_choose_the_channel() -> None:
    rig = Rig()
    await rig.engine.installed(INSTALLER, {"channel": "U0INSTALL"}, "slack:install:T1:1")
    await rig.engine.installed(INSTALLER, {"channel": "U0INSTALL"}, "slack:install:T1:1")
    welcomes = [i for i in await rig.store.outbox_items() if "installing" in str(i.reply)]
    assert len(welcomes) == 1 and welcomes[0].address == {"channel": "U0INSTALL"}
    assert "/report-tiktok setup" in str(welcomes[0].reply)
    assert (await rig.settings()).installer == "U0INSTALL"

    said = await rig.say(INSTALLER, "setup", place="G0LEADERS")
    assert "now the leadership channel" in said
    assert (await rig.settings()).leadership == "G0LEADERS"
    assert rig.seen[-1].leadership == "G0LEADERS"  # the runtime is told at once


async def test_a_workspace_admin_may_choose_it_and_nobody_else() -> None:
    rig = Rig()
    assert "Only the person who installed" in await rig.say(STAFF, "setup", place="G0LEADERS")
    assert "Only the person who installed" in await rig.say(LEADER, "setup", place="G0LEADERS")
    assert (await rig.settings()).leadership == ""
    assert "now the leadership channel" in await rig.say(ADMIN, "setup", place="G0LEADERS")


async def test_only_a_private_channel_the_bot_is_in_can_be_chosen() -> None:
    rig = Rig()
    assert "public" in await rig.say(ADMIN, "setup", place="C0GENERAL")
    assert "/invite @reportbot" in await rig.say(ADMIN, "setup", place="G0NOBOT")
    assert "/invite @reportbot" in await rig.say(ADMIN, "setup", place="G0UNKNOWN")
    assert "in the private channel" in await rig.say(ADMIN, "setup")  # typed in the DM
    assert (await rig.settings()).leadership == ""


async def test_when_the_platform_cannot_say_who_is_admin_nothing_changes() -> None:
    rig = Rig(Workspace(unsure=True))
    assert "couldn't check" in await rig.say(ADMIN, "setup", place="G0LEADERS")
    assert (await rig.settings()).leadership == ""


async def test_when_the_platform_cannot_say_what_the_channel_is_nothing_changes() -> None:
    rig = Rig()
    said = await rig.say(ADMIN, "setup", place="G0SLOW")  # Slack too slow to answer
    assert "couldn't check" in said and "/invite" not in said
    assert (await rig.settings()).leadership == ""


async def test_name_and_union_contact_are_set_by_leaders_and_used_for_the_school() -> None:
    rig = Rig()
    assert "Only the leadership team" in await rig.say(STAFF, "settings name Fake School")
    said = await rig.say(LEADER, "settings name   Example   Academy ")
    assert "School name: Example Academy" in said
    await rig.say(ADMIN, "settings union NAHT regional office, 0300 30 30 111")
    saved = await rig.settings()
    assert (saved.name, saved.union_contact) == (
        "Example Academy",
        "NAHT regional office, 0300 30 30 111",
    )
    facts = facts_for(Facts(), saved)
    assert facts.school == "Example Academy"
    assert facts.union_contact.startswith("NAHT") and facts.posh_phone == Facts().posh_phone
    assert "in 1 to 120 characters" in await rig.say(LEADER, "settings name " + "x" * 121)
    assert "School name: Example Academy" in await rig.say(STAFF, "settings")  # anyone may look
    assert "To change a setting" in await rig.say(LEADER, "settings colour blue")


async def test_a_school_set_up_by_its_administrator_says_so_in_chat() -> None:
    store = MemoryStore()
    engine = Engine(store, Facts(), FakeClock(NOW), membership=Workspace())
    turn = Turn(ADMIN, "setup", action="start", delivery_id="d1", place="G0LEADERS")
    await engine.handle(turn)
    [item] = await store.outbox_items()
    assert "chosen by your bot's administrator" in str(item.reply)
    assert await store.get_meta(SETTINGS_KEY) is None


async def test_an_answer_that_starts_with_settings_is_an_answer_during_a_report() -> None:
    rig = Rig()
    await rig.say(STAFF, "")  # starts a report
    turn = Turn(STAFF, "settings page of the app", delivery_id="typed", address={"channel": "D1"})
    await rig.engine.handle(turn)
    assert await rig.store.get_meta(SETTINGS_KEY) is None
