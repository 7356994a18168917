"""The Teams app package: a manifest valid against Microsoft's schema, the icons, the zip.

The manifest is checked against the schema vendored from npm @microsoft/app-manifest 1.1.2
(MIT), by jsonschema (a test dependency) and by the small draft-04 validator below, which
covers every keyword that schema uses (two validators agreeing is the check of each).
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from adapters import cli
from adapters.teams import package
from bot.errors import ConfigError
from bot.facts import Facts

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "adapters/teams/manifest_schema/MicrosoftTeams.v1.30.schema.json"
APP_ID = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


# --- a draft-04 validator for the keywords Microsoft's manifest schema uses ---------------------

_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
    "integer": int,
    "number": (int, float),
}


def schema_errors(
    value: Any, schema: dict[str, Any], root: dict[str, Any], at: str = ""
) -> list[str]:
    if "$ref" in schema:
        return schema_errors(value, _resolve(root, schema["$ref"]), root, at)
    errors: list[str] = []
    kind = schema.get("type")
    if kind is not None and not any(_is(value, k) for k in _listed(kind)):
        return [f"{at or '/'}: expected {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{at}: {value!r} is not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{at}: must be {schema['const']!r}")
    if isinstance(value, str):
        errors += _string(value, schema, at)
    if isinstance(value, list):
        errors += _array(value, schema, root, at)
    if isinstance(value, dict):
        errors += _object(value, schema, root, at)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{at}: above {schema['maximum']}")
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{at}: below {schema['minimum']}")
    for sub in schema.get("allOf", []):
        errors += schema_errors(value, sub, root, at)
    if "anyOf" in schema and all(schema_errors(value, s, root, at) for s in schema["anyOf"]):
        errors.append(f"{at}: matches none of anyOf")
    if "oneOf" in schema:
        matching = [s for s in schema["oneOf"] if not schema_errors(value, s, root, at)]
        if len(matching) != 1:
            errors.append(f"{at}: matches {len(matching)} of oneOf")
    if "not" in schema and not schema_errors(value, schema["not"], root, at):
        errors.append(f"{at}: matches a forbidden schema")
    if "if" in schema and not schema_errors(value, schema["if"], root, at):
        errors += schema_errors(value, schema.get("then", {}), root, at)
    return errors


def _string(value: str, schema: dict[str, Any], at: str) -> list[str]:
    errors = []
    if len(value) > schema.get("maxLength", len(value)):
        errors.append(f"{at}: longer than {schema['maxLength']}")
    if len(value) < schema.get("minLength", 0):
        errors.append(f"{at}: shorter than {schema['minLength']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{at}: does not match {schema['pattern']}")
    if schema.get("format") == "uri" and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value):
        errors.append(f"{at}: not a URI")
    return errors


def _array(value: list[Any], schema: dict[str, Any], root: dict[str, Any], at: str) -> list[str]:
    errors = []
    if len(value) > schema.get("maxItems", len(value)):
        errors.append(f"{at}: more than {schema['maxItems']} items")
    if len(value) < schema.get("minItems", 0):
        errors.append(f"{at}: fewer than {schema['minItems']} items")
    if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) < len(
        value
    ):
        errors.append(f"{at}: items are not unique")
    items = schema.get("items")
    if isinstance(items, dict):
        for n, item in enumerate(value):
            errors += schema_errors(item, items, root, f"{at}/{n}")
    return errors


def _object(
    value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], at: str
) -> list[str]:
    errors = [f"{at}: missing {k}" for k in schema.get("required", []) if k not in value]
    if len(value) < schema.get("minProperties", 0):
        errors.append(f"{at}: fewer than {schema['minProperties']} properties")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            errors += schema_errors(item, properties[key], root, f"{at}/{key}")
        elif extra is False:
            errors.append(f"{at}: unexpected property {key}")
        elif isinstance(extra, dict):
            errors += schema_errors(item, extra, root, f"{at}/{key}")
    for key, needs in schema.get("dependencies", {}).items():
        if key in value and isinstance(needs, list):
            errors += [f"{at}: {key} needs {n}" for n in needs if n not in value]
        elif key in value and isinstance(needs, dict):
            errors += schema_errors(value, needs, root, at)
    return errors


def _is(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[kind])


def _listed(kind: str | list[str]) -> list[str]:
    return [kind] if isinstance(kind, str) else kind


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/"), ref
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return dict(node)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


# --- the manifest ---------------------------------------------------------------------------------


def test_the_manifest_is_valid_against_the_current_schema(schema: dict[str, Any]) -> None:
    manifest = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["manifestVersion"] == schema["properties"]["manifestVersion"]["const"]
    assert manifest["$schema"].endswith(
        f"/v{manifest['manifestVersion']}/MicrosoftTeams.schema.json"
    )
    assert schema_errors(manifest, schema, schema) == []
    assert (
        schema_errors(package.filled(manifest, APP_ID, "bot.example.sch.uk"), schema, schema) == []
    )


def test_the_validator_catches_what_the_schema_forbids(schema: dict[str, Any]) -> None:
    manifest = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    del manifest["developer"]["privacyUrl"]
    manifest["accentColor"] = "blue"
    manifest["bots"][0]["botId"] = "my-bot"
    manifest["bots"][0]["scopes"].append("everywhere")
    manifest["name"]["short"] = "x" * 31
    manifest["unknown"] = True
    errors = schema_errors(manifest, schema, schema)
    for expected in (
        "privacyUrl",
        "/accentColor",
        "/bots/0/botId",
        "/bots/0/scopes/2",
        "/name/short",
        "unknown",
    ):
        assert any(expected in e for e in errors), expected


def test_jsonschema_agrees_when_it_is_installed(schema: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    manifest = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(manifest)


def test_the_manifest_offers_personal_and_team_scopes_and_the_commands() -> None:
    manifest = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    [bot] = manifest["bots"]
    assert set(bot["scopes"]) == {"personal", "team"}
    personal = next(c for c in bot["commandLists"] if c["scopes"] == ["personal"])
    titles = {c["title"] for c in personal["commands"]}
    assert {"report", "help", "my reports"} <= titles
    team = next(c for c in bot["commandLists"] if c["scopes"] == ["team"])
    assert [c["title"] for c in team["commands"]] == ["use this channel"]


# --- the icons and the zip ------------------------------------------------------------------


def _png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (depth, colour) == (8, 6), "8-bit RGBA"
    chunks, offset = b"", 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        if data[offset + 4 : offset + 8] == b"IDAT":
            chunks += data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    raw = zlib.decompress(chunks)
    stride = width * 4 + 1
    assert all(raw[y * stride] == 0 for y in range(height)), "unfiltered rows"
    pixels = [
        tuple(raw[y * stride + 1 + x * 4 : y * stride + 5 + x * 4])
        for y in range(height)
        for x in range(width)
    ]
    return width, height, pixels  # type: ignore[return-value]


def test_the_icons_are_the_sizes_teams_asks_for() -> None:
    width, height, colour = _png((package.ICONS / "color.png").read_bytes())
    assert (width, height) == (192, 192)
    assert all(a == 255 for *_, a in colour)  # a full-colour icon on a solid background
    width, height, outline = _png((package.ICONS / "outline.png").read_bytes())
    assert (width, height) == (32, 32)
    assert all((r, g, b) == (255, 255, 255) or a == 0 for r, g, b, a in outline)
    assert any(a == 0 for *_, a in outline) and any(a == 255 for *_, a in outline)


def test_teams_package_writes_the_zip_with_the_bot_id(tmp_path: Path) -> None:
    out = tmp_path / "reportbot-teams.zip"
    assert (
        cli.main(
            [
                "teams-package",
                "--app-id",
                APP_ID,
                "--domain",
                "Bot.Example.sch.uk",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.read("color.png") == (package.ICONS / "color.png").read_bytes()
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == ["bot.example.sch.uk"]


@pytest.mark.parametrize("planted", ["link", "folder"])
def test_the_package_is_never_written_through_a_planted_link_or_over_a_folder(
    planted: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As exports are: a link or folder planted where the zip goes is refused, not followed."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    victim.chmod(0o644)
    out = tmp_path / "reportbot-teams.zip"
    if planted == "link":
        out.symlink_to(victim)
    else:
        out.mkdir()
    assert cli.main(["teams-package", "--app-id", APP_ID, "--out", str(out)]) != 0
    assert victim.read_text() == "keep me" and victim.stat().st_mode & 0o777 == 0o644
    assert out.is_symlink() if planted == "link" else out.is_dir()
    said = capsys.readouterr().err
    assert ("a symbolic link" if planted == "link" else "a folder") in said


@pytest.mark.parametrize(
    ("app_id", "domain", "named"),
    [
        ("not-a-guid", None, "--app-id"),
        (APP_ID, "https://bot.example.sch.uk/path", "--domain"),
    ],
)
def test_bad_package_arguments_are_named(
    app_id: str, domain: str | None, named: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=named):
        package.build(app_id=app_id, domain=domain, out=tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_the_description_gives_the_school_s_own_helpline_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schema: dict[str, Any]
) -> None:
    config = tmp_path / "reportbot.toml"
    config.write_text(
        '[facts]\nposh_phone = "0300 123 4567"\nposh_email = "posh@example.org.uk"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("REPORTBOT_CONFIG", str(config))
    out = tmp_path / "reportbot-teams.zip"
    assert cli.main(["teams-package", "--app-id", APP_ID, "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    full = manifest["description"]["full"]
    assert "0300 123 4567" in full and "posh@example.org.uk" in full
    assert Facts().posh_phone not in full and Facts().posh_email not in full
    assert schema_errors(manifest, schema, schema) == []


def test_the_repository_manifest_names_the_built_in_facts_so_they_can_be_replaced() -> None:
    manifest = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    full = manifest["description"]["full"]
    assert Facts().posh_phone in full and Facts().posh_email in full


def test_facts_too_long_for_the_description_are_refused() -> None:
    manifest = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    with pytest.raises(ConfigError, match="description"):
        package.filled(manifest, APP_ID, None, Facts(posh_email="x" * 4000))
