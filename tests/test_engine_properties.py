"""Bad input never breaks a conversation: any text or button value at any step gets a reply."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine import HAPPY, Bot

from bot.flow import FLOW
from bot.model import Notice, Question

BUTTONS = sorted(
    {c.value for s in FLOW if isinstance(s.choices, tuple) for c in s.choices}
    | {"submit", "change", "resume", "done", "profile", "keep"}
)
junk_text = st.text(max_size=300) | st.sampled_from(["", " ", "\x00", "<!channel>", "1,99", "0"])
junk_action = st.none() | st.sampled_from(BUTTONS) | st.text(max_size=40)
junk_values = st.lists(st.sampled_from(BUTTONS) | st.text(max_size=20), max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    depth=st.integers(min_value=0, max_value=len(HAPPY)),
    text=junk_text,
    action=junk_action,
    values=junk_values,
)
def test_any_input_at_any_step_gets_a_reply(
    depth: int, text: str, action: str | None, values: list[str]
) -> None:
    async def run() -> None:
        bot = Bot()
        await bot.say(action="start")
        for answer in HAPPY[:depth]:
            await bot.say(answer)
        replies = await bot.say(text, action=action, values=tuple(values))
        assert replies, "silence"
        assert all(isinstance(r, Notice | Question) or r for r in replies)
        assert not any(isinstance(r, Notice) and "ERR-" in r.text for r in replies)

    asyncio.run(run())
