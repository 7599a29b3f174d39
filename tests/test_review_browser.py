"""The HTML review in real headless Chromium: renders, no console errors, summary and pictures shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from guidekg.review import run_review
from guidekg.review.drawing import available
from guidekg.review.report import render_html

CHROMIUM = Path("/usr/bin/chromium")
TOY = Path(__file__).parent / "data" / "review" / "toy"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
@pytest.mark.skipif(not available(), reason="matplotlib is not installed: the report has no pictures (pip install 'guidekg[review]')")
def test_report_renders_in_chromium(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    page_file = tmp_path / "review.html"
    page_file.write_text(render_html(run_review(TOY, patients=[])), encoding="utf-8")
    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)  # Playwright gives each launch a fresh profile dir
        try:
            page = browser.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda req: requests.append(req.url))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            assert page.locator("#summary").is_visible()
            assert "ERROR: " in page.locator("#summary").inner_text()
            images = page.locator("figure img")
            assert images.count() == 2
            for i in range(images.count()):
                assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", images.nth(i).element_handle())
            assert page.locator("#findings tr").count() > 1
            page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        finally:
            browser.close()
    assert not errors, errors
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    assert (tmp_path / "review.png").stat().st_size > 10_000
