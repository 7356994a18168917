"""The engine stays neutral: `bot/` never imports a platform SDK, TinyDB or aiohttp."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = (
    "slack_bolt",
    "slack_sdk",
    "microsoft_agents",
    "botbuilder",
    "botframework",
    "msrest",
    "tinydb",
    "aiohttp",
)


def test_bot_modules_do_not_import_platforms_or_storage() -> None:
    offenders = []
    for path in (ROOT / "bot").glob("*.py"):
        if path.name == "__main__.py":  # the launcher hands over to adapters by design
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
            offenders += [
                f"{path.name}: {n}" for n in names if n.split(".")[0] in ("adapters", "storage")
            ]
    assert offenders == []


def test_importing_the_whole_engine_loads_no_platform_library() -> None:
    modules = [f"bot.{p.stem}" for p in (ROOT / "bot").glob("*.py") if p.stem != "__main__"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
