"""`reportbot teams-package`: the zip a school uploads to Teams.

The zip holds manifest.json (the repository's top-level one, with the bot's app id filled in)
and the two icons, all at its root, as Teams requires. The Teams app id is the bot's app id,
so uploading a newer package (with a higher "version") updates the same app.

The description names POSH's phone and email as the bot's built-in facts spell them; they are
replaced with the school's own (`[facts]` in reportbot.toml) when the package is built, so the
app never shows a number the bot no longer gives.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from bot.config import load_settings
from bot.errors import ConfigError
from bot.facts import Facts
from storage import atomic

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifest.json"
ICONS = Path(__file__).resolve().parent / "icons"
ICON_FILES = ("color.png", "outline.png")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_HOST = re.compile(r"^(?=.{1,253}$)(?:\*\.)?(?:[a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")
DESCRIPTION_LIMITS = {"short": 80, "full": 4000}  # the manifest schema's maxLength


def build(app_id: str, domain: str | None, out: str | Path, facts: Facts | None = None) -> Path:
    """Write the app package and return where it is (facts: the school's, from its settings)."""
    facts = facts if facts is not None else load_settings().facts
    manifest = filled(read_manifest(), app_id, domain, facts)
    path = Path(out).expanduser().absolute()  # not resolved: a planted link is refused below
    path.parent.mkdir(parents=True, exist_ok=True)
    what = atomic.odd_target(path)
    if what is not None:
        raise ConfigError(
            f"{path} is {what}, so the package was not written there (it could change another "
            "file). Choose another name with --out."
        )
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for name in ICON_FILES:
            archive.write(ICONS / name, arcname=name)
    atomic.replace(atomic.write_temp(path, zipped.getvalue()), path)  # a new file, renamed in
    return path


def read_manifest() -> dict[str, Any]:
    try:
        return dict(json.loads(MANIFEST.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"cannot read the Teams manifest {MANIFEST}: {e}") from None


def filled(
    manifest: dict[str, Any], app_id: str, domain: str | None, facts: Facts | None = None
) -> dict[str, Any]:
    """The manifest with this school's bot: its app id, its helpline facts, its host name."""
    app_id = app_id.strip()
    if not _GUID.match(app_id):
        raise ConfigError(
            "--app-id must be the Azure Bot's Microsoft App ID, a GUID such as "
            "00000000-0000-0000-0000-000000000000"
        )
    result = copy.deepcopy(manifest)
    result["id"] = app_id
    for bot in result.get("bots", []):
        bot["botId"] = app_id
    if domain:
        host = domain.strip().lower()
        if not _HOST.match(host):
            raise ConfigError(
                f"--domain must be a host name such as reportbot.example.sch.uk, not {domain!r}"
            )
        result["validDomains"] = sorted({*result.get("validDomains", []), host})
    result["description"] = _described(result.get("description", {}), facts or Facts())
    return result


def _described(description: dict[str, str], facts: Facts) -> dict[str, str]:
    """The description with the school's POSH phone and email in place of the built-in ones."""
    built_in = Facts()
    swaps = {built_in.posh_phone: facts.posh_phone, built_in.posh_email: facts.posh_email}
    result = dict(description)
    for part, limit in DESCRIPTION_LIMITS.items():
        text = result.get(part, "")
        for old, new in swaps.items():
            text = text.replace(old, new)
        if len(text) > limit:
            raise ConfigError(
                f"the Teams manifest's {part} description is over {limit} characters with "
                "your [facts]: shorten it in manifest.json"
            )
        if part in result:
            result[part] = text
    return result
