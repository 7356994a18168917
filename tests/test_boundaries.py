"""The engine stays neutral: `bot/` never imports a platform SDK, TinyDB or aiohttp."""

from __future__ import annotations

import ast
import re
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
        for module in _modules(path):
            if module.split(".")[0] in (*FORBIDDEN, "adapters", "storage"):
                offenders.append(f"{path.name}: {module}")
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


# --- the way out: senders and renderers get replies complete -------------------------------------

SENDERS_AND_RENDERERS = (
    "adapters/slack/sender.py",
    "adapters/slack/posts.py",
    "adapters/slack/render.py",
    "adapters/slack/home.py",
    "adapters/teams/sender.py",
    "adapters/teams/posts.py",
    "adapters/teams/proactive.py",
    "adapters/teams/render.py",
    "adapters/teams/cards.py",
    "adapters/terminal.py",
)
LOOKED_UP = ("store", "clock", "facts", "runtime", "resolver")
# The places that wire a platform to the runtime; everything else is handed what it needs.
WIRING = {
    "adapters/compose.py",
    "adapters/cli.py",
    "adapters/server.py",
    "adapters/casework.py",
    "adapters/chat.py",
    "adapters/slack/__init__.py",
    "adapters/slack/app.py",
    "adapters/slack/oauth.py",
    "adapters/teams/__init__.py",
    "adapters/teams/wiring.py",
    "adapters/teams/school.py",  # one school's Teams pieces, built on its runtime
    "adapters/teams/tenants.py",  # many schools: each tenant's runtime, as slack/oauth.py
}


def _imports(tree: ast.AST) -> list[tuple[str, str]]:
    """(module, name) for every `from module import name` and `import module`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, "") for a in node.names]
    return found


def _modules(path: Path) -> list[str]:
    """Every module a file imports from, or imports."""
    return [module for module, _ in _imports(ast.parse(path.read_text()))]


def test_senders_and_renderers_look_nothing_up() -> None:
    """No store, clock, facts or runtime on the way out: the courier resolved the reply."""
    offenders = []
    for name in SENDERS_AND_RENDERERS:
        tree = ast.parse((ROOT / name).read_text())
        for module, imported in _imports(tree):
            if module.startswith("adapters.compose") or (module, imported) in {
                ("bot.ports", "Store"),
                ("bot.ports", "Clock"),
                ("bot.facts", "Facts"),
                ("bot.resolve", "Resolver"),
            }:
                offenders.append(f"{name}: imports {module}.{imported}".rstrip("."))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in LOOKED_UP:
                offenders.append(f"{name}:{node.lineno}: .{node.attr}")
    assert offenders == []


def test_only_the_wiring_holds_the_runtime() -> None:
    offenders = []
    for path in sorted((ROOT / "adapters").rglob("*.py")):
        name = str(path.relative_to(ROOT))
        uses = [m for m, n in _imports(ast.parse(path.read_text())) if m == "adapters.compose"]
        if uses and name not in WIRING:
            offenders.append(name)
    assert offenders == []


def test_storage_imports_no_adapter_and_no_platform() -> None:
    """storage/ implements the engine's port: it knows the engine's model, not the chats."""
    platforms = ("slack_bolt", "slack_sdk", "microsoft_agents", "botbuilder", "aiohttp")
    offenders = []
    for path in (ROOT / "storage").rglob("*.py"):
        top = {module.split(".")[0] for module in _modules(path)}
        offenders += [f"{path.name}: {t}" for t in sorted(top) if t in (*platforms, "adapters")]
    assert offenders == []


def test_the_architecture_page_names_only_what_exists() -> None:
    """docs/ARCHITECTURE.md stays true to the code: every file it names is there."""
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    named = set(
        re.findall(r"`((?:bot|adapters|storage|tests|benchmarks|scripts)/[\w/.]+\.py)`", page)
    )
    assert named, "the page names no files"
    assert sorted(n for n in named if not (ROOT / n).exists()) == []


def test_nothing_of_the_archived_bot_framework_is_installed() -> None:
    """Teams runs on the Microsoft 365 Agents SDK: botbuilder is archived (no security fixes)
    and pins msrest, itself deprecated. None of them may come back through a dependency."""
    from importlib.metadata import distributions

    names = {(d.metadata["Name"] or "").lower() for d in distributions()}
    archived = sorted(n for n in names if n.startswith(("botbuilder", "botframework", "msrest")))
    assert archived == []
    assert "microsoft-agents-hosting-aiohttp" in names  # the check looks at the real list
