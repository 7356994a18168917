"""`reportbot teams-package`: the zip a school uploads to Teams.

The zip holds manifest.json (the repository's top-level one, with the bot's app id filled in)
and the two icons, all at its root, as Teams requires. The Teams app id is the bot's app id,
so uploading a newer package (with a higher "version") updates the same app.
"""

from __future__ import annotations

import copy
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifest.json"
ICONS = Path(__file__).resolve().parent / "icons"
ICON_FILES = ("color.png", "outline.png")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_HOST = re.compile(r"^(?=.{1,253}$)(?:\*\.)?(?:[a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")


def build(app_id: str, domain: str | None, out: str | Path) -> Path:
    """Write the app package and return where it is."""
    manifest = filled(read_manifest(), app_id, domain)
    path = Path(out).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for name in ICON_FILES:
            archive.write(ICONS / name, arcname=name)
    return path


def read_manifest() -> dict[str, Any]:
    try:
        return dict(json.loads(MANIFEST.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"cannot read the Teams manifest {MANIFEST}: {e}") from None


def filled(manifest: dict[str, Any], app_id: str, domain: str | None) -> dict[str, Any]:
    """The manifest with this school's bot: its app id, and its host name if given."""
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
    return result
