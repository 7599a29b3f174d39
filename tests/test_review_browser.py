"""The HTML review in real headless Chromium: renders, no console errors, no external request, every internal link resolves.

Screenshots of the findings, one statement and both pictures are kept as test artefacts in the
test's tmp dir (set GUIDEKG_REVIEW_SHOTS=<dir> to copy them somewhere to look at).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from guidekg.review import run_review
from guidekg.review.report import render
from review_planting import ROOT, plant

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]
BROKEN_LINKS = """() => [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))
    .filter(h => !h.startsWith('#') || !document.getElementById(decodeURIComponent(h.slice(1))))"""


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
def test_report_renders_in_chromium(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    old = tmp_path / "old"
    shutil.copytree(ROOT / "ontology", old)
    folder = plant("s3_citation_removed", tmp_path)
    review = run_review(folder, against=old, parts=("encoding", "coverage", "evidence", "pathway", "statements", "pictures"))
    page_file = tmp_path / "review.html"
    page_file.write_text(render(review, "html"), encoding="utf-8")
    errors: list[str] = []
    requests: list[str] = []
    shots = {}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)  # a fresh profile dir per launch
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda req: requests.append(req.url))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            assert page.locator("#summary").is_visible() and "WARN: " in page.locator("#summary").inner_text()
            assert page.locator("nav#toc a").count() > 10
            assert page.evaluate(BROKEN_LINKS) == []
            assert page.locator("a[href='#stmt-S3']").count() > 0 and page.locator(".finding").count() > 5
            assert page.locator("#changes").inner_text().count("gk:S3") >= 1
            for sid in ("S9", "S14", "S15b", "S16b"):
                assert page.locator(f"#stmt-{sid}").is_visible()
            assert page.locator("#pathway-svg").bounding_box()["width"] > 1000
            assert page.locator("svg[id^='trail-'] a").count() > 20  # evidence trails link to statements and sources
            page.locator("#findings").scroll_into_view_if_needed()
            shots["findings"] = tmp_path / "findings.png"
            page.screenshot(path=str(shots["findings"]))
            shots["statement"] = tmp_path / "statement-S3.png"
            page.locator("#stmt-S3").screenshot(path=str(shots["statement"]))
            shots["pathway"] = tmp_path / "pathway.png"
            page.locator("#pathway-svg").screenshot(path=str(shots["pathway"]))
            shots["evidence"] = tmp_path / "evidence-trail-Rec_S3.png"
            page.locator("svg#trail-Rec_S3").screenshot(path=str(shots["evidence"]))
        finally:
            browser.close()
    assert not errors, errors
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    for shot in shots.values():
        assert shot.stat().st_size > 5_000
    target = os.environ.get("GUIDEKG_REVIEW_SHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for shot in shots.values():
            shutil.copy(shot, Path(target) / shot.name)
