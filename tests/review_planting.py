"""Plant an authoring mistake (tests/data/review/planted/*.json) in a temporary copy of the shipped ontology."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLANTED = Path(__file__).parent / "data" / "review" / "planted"


def plant(name: str, target: Path) -> Path:
    """Copy ontology/ (and shapes/ beside it) to target and apply the named edits; returns the ontology folder."""
    folder = target / "ontology"
    shutil.copytree(ROOT / "ontology", folder)
    shutil.copytree(ROOT / "shapes", target / "shapes")
    (folder / "review-waivers.csv").unlink(missing_ok=True)
    spec = json.loads((PLANTED / f"{name}.json").read_text(encoding="utf-8"))
    for edit in spec["edits"]:
        path = folder / edit["file"]
        text = path.read_text(encoding="utf-8")
        if "append" in edit:
            text += edit["append"]
        else:
            assert text.count(edit["old"]) == 1, f"{name}: the text to replace is no longer in {edit['file']} exactly once"
            text = text.replace(edit["old"], edit["new"])
        path.write_text(text, encoding="utf-8")
    return folder
