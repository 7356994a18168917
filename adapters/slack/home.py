"""The bot's Home tab: a person's own reports, and the open cases for leadership members.

It is a read-only view of the store, rebuilt each time the tab is opened; nothing here changes
a case, so it is published after Slack has had its acknowledgement.
"""

from __future__ import annotations

from adapters.compose import Runtime
from adapters.slack import render
from bot.lifecycle import in_scope
from bot.model import JSON, Case, CaseStatus, Person
from bot.views import case_line

HOME_BLOCKS_MAX = 100
LIST_MAX = 30
INTRO = (
    "Report a TikTok account or video that targets staff or the school. I'll ask about ten "
    "short questions in a private message, then give you everything the Professional Online "
    "Safety Helpline (POSH) needs. You can also type /report-tiktok anywhere."
)


async def home_view(runtime: Runtime, person: Person, is_leader: bool) -> JSON:
    mine = await runtime.store.cases(reporter=person.key)
    blocks: list[JSON] = [
        render.header("TikTok reports"),
        *render.sections(INTRO),
        {
            "type": "actions",
            "elements": [render.button("Make a report", "home:start", "start", "primary")],
        },
        render.header("Your reports"),
        *_listing(runtime, [c for c in mine if c.status != CaseStatus.DELETED], "None yet."),
    ]
    if is_leader:
        open_cases = [c for c in await runtime.store.cases(open_only=True) if in_scope(c, person)]
        blocks += [
            render.header("Open cases (leadership)"),
            *_listing(runtime, open_cases, "There are no open cases."),
            render.context("Case details and buttons are in the leadership channel."),
        ]
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS_MAX]}


def _listing(runtime: Runtime, cases: list[Case], empty: str) -> list[JSON]:
    newest = sorted(cases, key=lambda c: c.created_at, reverse=True)[:LIST_MAX]
    lines = [f"• {case_line(c, runtime.facts)}" for c in newest]
    more = len(cases) - len(newest)
    if more > 0:
        lines.append(f"…and {more} older.")
    return render.sections("\n".join(lines) if lines else empty)
