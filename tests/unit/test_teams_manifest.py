"""The Teams app package template: a manifest Teams accepts once its placeholders are filled,
and the icons it names, at the sizes Teams requires."""

from __future__ import annotations

import json
import re
from pathlib import Path

from PIL import Image

FOLDER = Path(__file__).resolve().parents[2] / "deploy" / "teams"
PLACEHOLDER = re.compile(r"\$\{\{([A-Z_]+)\}\}")


def _manifest() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((FOLDER / "manifest.json").read_text())
    return loaded


def test_the_manifest_is_v1_17_or_newer_with_the_bot_and_its_placeholders() -> None:
    manifest = _manifest()
    version = tuple(int(p) for p in str(manifest["manifestVersion"]).split("."))
    assert version >= (1, 17)
    assert f"/v{manifest['manifestVersion']}/MicrosoftTeams.schema.json" in str(
        manifest["$schema"])
    placeholders = set(PLACEHOLDER.findall((FOLDER / "manifest.json").read_text()))
    assert {"BOT_APP_ID", "TEAMS_APP_ID", "COFFRE_PUBLIC_HOST"} <= placeholders
    (bot,) = manifest["bots"]  # type: ignore[misc]
    assert bot["botId"] == "${{BOT_APP_ID}}"
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    assert manifest["validDomains"] == ["${{COFFRE_PUBLIC_HOST}}"]


def test_the_texts_fit_teams_limits() -> None:
    manifest = _manifest()
    assert len(manifest["name"]["short"]) <= 30  # type: ignore[index]
    assert len(manifest["name"]["full"]) <= 100  # type: ignore[index]
    assert len(manifest["description"]["short"]) <= 80  # type: ignore[index]
    assert len(manifest["description"]["full"]) <= 4000  # type: ignore[index]
    (commands,) = manifest["bots"][0]["commandLists"]  # type: ignore[index]
    assert 1 <= len(commands["commands"]) <= 10
    for command in commands["commands"]:
        assert len(command["title"]) <= 32 and len(command["description"]) <= 128


def test_the_icons_are_there_at_teams_sizes() -> None:
    icons = _manifest()["icons"]
    with Image.open(FOLDER / icons["color"]) as color:  # type: ignore[index]
        assert color.size == (192, 192)
    with Image.open(FOLDER / icons["outline"]) as outline:  # type: ignore[index]
        assert outline.size == (32, 32) and outline.mode == "RGBA"
        # Only white and transparent pixels, as Teams wants of an outline icon.
        pixels = outline.tobytes()
        colours = {pixels[i:i + 3] for i in range(0, len(pixels), 4) if pixels[i + 3]}
        assert colours == {b"\xff\xff\xff"}
