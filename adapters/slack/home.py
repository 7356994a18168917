"""The bot's Home tab: a person's own reports, and the open cases for leadership members.

It is a read-only view (`bot.home`), rebuilt each time the tab is opened; nothing here changes
a case, so it is published after Slack has had its acknowledgement.
"""

from __future__ import annotations

from adapters.slack import render
from bot.home import Home, Listing
from bot.model import JSON

HOME_BLOCKS_MAX = 100
INTRO = (
    "Report a TikTok account or video that targets staff or the school. I'll ask about fifteen "
    "short questions in a private message, then give you everything the Professional Online "
    "Safety Helpline (POSH) needs. You can also type /report-tiktok anywhere."
)


def home_view(home: Home) -> JSON:
    blocks: list[JSON] = [
        render.header("TikTok reports"),
        *render.sections(INTRO),
        {
            "type": "actions",
            "elements": [render.button("Make a report", "home:start", "start", "primary")],
        },
        render.header("Your reports"),
        *_listing(home.mine, "None yet."),
    ]
    if home.open_cases is not None:
        blocks += [
            render.header("Open cases (leadership)"),
            *_listing(home.open_cases, "There are no open cases."),
            render.context("Case details and buttons are in the leadership channel."),
        ]
    if home.school:
        blocks += [render.header("Your school"), *render.sections("\n".join(home.school))]
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS_MAX]}


def _listing(listing: Listing, empty: str) -> list[JSON]:
    lines = [f"• {line}" for line in listing.lines]
    if listing.older > 0:
        lines.append(f"…and {listing.older} older.")
    return render.sections("\n".join(lines) if lines else empty)
