"""Printing the figures: aligned tables in milliseconds (p50 / p99), ratios, and the targets."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.arrivals import StepTiming
from benchmarks.stats import Samples

RATIO_LIMIT = 1.5
STEP_LIMIT = 1.2
SUBMIT_LIMIT_MS = 50.0
STALL_LIMIT_MS = 50.0


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "–"
    value = seconds * 1000
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def pair(samples: Samples) -> str:
    return f"{ms(samples.p50)} / {ms(samples.p99)}"


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def times(ratio_value: float) -> str:
    return "–" if math.isnan(ratio_value) else f"{ratio_value:.1f}×"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


@dataclass
class Table:
    title: str
    header: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: str) -> None:
        self.rows.append(cells)

    def render(self) -> str:
        widths = [
            max(len(r[i]) for r in [self.header, *self.rows]) for i in range(len(self.header))
        ]

        def line(cells: Sequence[str]) -> str:
            first = cells[0].ljust(widths[0])
            rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
            return "  ".join([first, *rest]).rstrip()

        rule = "-" * len(line(self.header))
        body = [self.title, rule, line(self.header), rule, *map(line, self.rows), rule]
        return "\n".join(body + [f"  {n}" for n in self.notes])


# -- chat sections --------------------------------------------------------------------------------


def pick(timings: Sequence[StepTiming], what: str) -> Samples:
    return Samples([getattr(t, what) for t in timings])


@dataclass(frozen=True)
class Comparison:
    """One measure for the bot and its minimal counterpart."""

    label: str
    bot: Samples
    base: Samples

    @property
    def ratios(self) -> tuple[float, float]:
        return ratio(self.bot.p50, self.base.p50), ratio(self.bot.p99, self.base.p99)

    def within(self, limit: float) -> bool:
        return all(r <= limit for r in self.ratios)

    def cells(self, judged: bool) -> list[str]:
        r50, r99 = self.ratios
        target = f"{verdict(self.within(RATIO_LIMIT))} (≤{RATIO_LIMIT}×)" if judged else ""
        return [self.label, pair(self.bot), pair(self.base), times(r50), times(r99), target]


def comparison_table(title: str, base_name: str, rows: list[tuple[Comparison, bool]]) -> Table:
    header = ["ms, p50 / p99", "reportbot", base_name, "ratio p50", "ratio p99", "target"]
    table = Table(title, header)
    for comparison, judged in rows:
        table.add(*comparison.cells(judged))
    return table


def first_rows(bot: list[StepTiming], base: list[StepTiming], reply: str) -> list[Comparison]:
    return [
        Comparison("acknowledged (HTTP response)", pick(bot, "ack"), pick(base, "ack")),
        Comparison(f"first {reply} reaches the stand-in", pick(bot, "first"), pick(base, "first")),
        Comparison("whole reply reaches the stand-in", pick(bot, "last"), pick(base, "last")),
    ]


def report_rows(
    bot: list[list[StepTiming]], base: list[list[StepTiming]]
) -> tuple[list[Comparison], list[Comparison]]:
    """Per step (the whole reply), then all steps pooled and the whole report per user."""
    steps = [
        Comparison(
            f"{i + 1:>2}. {bot[0][i].step[:34]}",
            pick([u[i] for u in bot], "last"),
            pick([u[i] for u in base], "last"),
        )
        for i in range(len(bot[0]))
    ]
    flat_bot = [t for u in bot for t in u]
    flat_base = [t for u in base for t in u]
    pooled = [
        Comparison("all steps: acknowledged", pick(flat_bot, "ack"), pick(flat_base, "ack")),
        Comparison("all steps: first reply", pick(flat_bot, "first"), pick(flat_base, "first")),
        Comparison("all steps: whole reply", pick(flat_bot, "last"), pick(flat_base, "last")),
        Comparison(
            "whole report, end to end (per user)",
            Samples([sum(t.last for t in u) for u in bot]),
            Samples([sum(t.last for t in u) for u in base]),
        ),
    ]
    return steps, pooled


# -- storage ----------------------------------------------------------------------------------


def storage_table(results: dict[int, dict[str, Any]]) -> Table:
    sizes = sorted(results)
    header = ["cases stored", *(f"{n:,}" for n in sizes)]
    table = Table("4. Storage: each size in a fresh server process (ms, p50 / p99)", header)

    def row(label: str, key: str) -> None:
        table.add(label, *(pair(Samples(results[n].get(key, []))) for n in sizes))

    def fixed(label: str, value: Any) -> None:
        table.add(label, *(value(results[n]) for n in sizes))

    row("conversation step: store.commit", "commit")
    row("one reply delivered: store.delivered", "delivered")
    row("case submission: take_reference + commit", "submit_store")
    row("submit turn (engine.handle, whole)", "submit_engine")
    row("open cases read (leaders' list, Home tab)", "open_scan")
    row("reminders check (every 60 s)", "reminders")
    row("a leader's export file (every case, CSV)", "export_file")
    row("plain TinyDB: the step's writes", "plain_step")
    row("plain TinyDB: the submission's writes", "plain_submit")
    fixed("live.json + live.log at open (KiB)", lambda r: f"{r['live_kb']:,.0f}")
    fixed("plain TinyDB file (MiB)", lambda r: f"{r['plain_file_mb']:,.1f}")
    fixed("open the store + build the app (s)", lambda r: f"{r['open_s']:.2f}")
    fixed("server RSS after open (MiB)", lambda r: f"{r['rss_mb']:,.0f}")
    fixed("server RSS after the run (MiB)", lambda r: f"{r['rss_after_mb']:,.0f}")
    fixed("longest loop stall, opening (ms)", lambda r: ms(r["stall"].get("open", 0.0)))
    fixed("longest loop stall, serving (ms)", lambda r: ms(serving_stall(r["stall"])))
    fixed("longest full GC pause (ms)", lambda r: ms(max(r["gc"].values(), default=0.0)))
    fixed(
        "samples (commit / submission)", lambda r: f"{len(r['commit'])} / {len(r['submit_store'])}"
    )
    fixed(
        "samples (plain step / submission)",
        lambda r: f"{len(r['plain_step'])} / {len(r['plain_submit'])}",
    )
    return table


def serving_stall(stalls: dict[str, float]) -> float:
    """The worst stall outside start-up (opening the store happens once, before serving)."""
    return max(
        (v for k, v in stalls.items() if k not in ("start", "start-up", "open")), default=0.0
    )
