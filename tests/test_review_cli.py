"""``guidekg review`` end to end: formats, exit code 1 on ERROR findings, --against."""

from __future__ import annotations

import json
from pathlib import Path

from guidekg.cli import main

DATA = Path(__file__).parent / "data" / "review"


def test_review_toy_json_exit_code_one_on_errors(tmp_path):
    out = tmp_path / "review.json"
    code = main(["review", "--ontology", str(DATA / "toy"), "--format", "json", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["summary"]["ERROR"] > 0 and code == 1
    assert set(report["findings"][0]) >= {"level", "rule", "subject", "property", "value", "message"}
    rec = next(r for r in report["recommendations"] if r["id"] == "gk:Rec_WT")
    assert rec["triggered_by"][0]["logic"] == "Fit and krasStatus value KRAS_Wildtype"


def test_review_markdown_with_against(tmp_path):
    out = tmp_path / "review.md"
    main(["review", "--ontology", str(DATA / "toy"), "--format", "md", "--out", str(out), "--against", str(DATA / "toy")])
    text = out.read_text()
    assert text.startswith("# Guideline authoring review") and "- **ERROR** `" in text and "## Changes against" in text
    assert "## Findings against the older version" in text and "- new: none" in text and "- resolved: none" in text
