"""``guidekg audit``: concordance counts on a generated cohort with planted plans, asserted exactly.

The cohort: synthetic patients (guidekg.synthetic) with their plans and current regimens
removed, so their plans judge nothing, plus planted copies of three example patients whose
verdicts were hand-checked (tests/data/expected/examples-plan.json): EX01 (concordant),
EX02 (concordant, one 'consistent') and EX23 (three deviations), spread over two centres,
and one unreadable row. Expected counts are summed from the hand-checked file, not from
the audit code.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from guidekg.audit import read_groups, run_audit
from guidekg.audit.report import render_csv, render_html, write_report
from guidekg.audit.tally import wilson
from guidekg.cli import main
from guidekg.synthetic import COLUMNS, synthetic_rows

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "tests" / "data" / "expected" / "examples-plan.json").read_text(encoding="utf-8"))
PLANTED = {"EX01-left-ras-wt": {"A": 7, "B": 3}, "EX02-msi-high": {"A": 2, "B": 2}, "EX23-unsafe-current-regimen": {"A": 1, "B": 4}}
BASE = 200
CHROMIUM = Path("/usr/bin/chromium")


def _example_rows() -> dict[str, dict[str, str]]:
    with (ROOT / "examples" / "patients.csv").open(encoding="utf-8", newline="") as handle:
        return {row["patient_id"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit")
    examples = _example_rows()
    header = list(COLUMNS) + [c for c in next(iter(examples.values())) if c not in COLUMNS]
    rows, groups = [], []
    for i, row in enumerate(synthetic_rows(BASE, seed=7)):
        row = dict(row, planned_actions="", current_regimen="")
        rows.append(row)
        groups.append((row["patient_id"], "A" if i % 2 else "B"))
    for example, centres in PLANTED.items():
        for centre, count in centres.items():
            for n in range(count):
                patient = f"{example}-{centre}{n}"
                rows.append(dict(examples[example], patient_id=patient))
                groups.append((patient, centre))
    sheet = folder / "cohort.csv"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows(rows)
        handle.write('BROKEN,"never closed\n')  # one unreadable row: counted as invalid, never dropped
    group_file = folder / "centres.csv"
    group_file.write_text("patient_id,centre\n" + "".join(f"{p},{c}\n" for p, c in groups), encoding="utf-8")
    return sheet, group_file, len(rows) + 1


def _expected(centre: str | None) -> dict[str, Counter]:
    """rule -> Counter(judged, concordant, <verdict>...) from the hand-checked verdicts."""
    out: dict[str, Counter] = {}
    for example, centres in PLANTED.items():
        copies = sum(centres.values()) if centre is None else centres[centre]
        verdicts: dict[str, set[str]] = {}
        for entry in EXPECTED[example]:
            verdicts.setdefault(entry["rule"], set()).add(entry["verdict"])
        for rule, seen in verdicts.items():
            counter = out.setdefault(rule, Counter())
            counter["judged"] += copies
            counter["concordant"] += copies if seen <= {"recommended", "consistent"} else 0
            for verdict in seen - {"recommended", "consistent"}:
                counter[verdict] += copies
    return out


def test_counts_per_rule_and_centre_are_exact(cohort):
    sheet, group_file, total = cohort
    result = run_audit([sheet], groups=read_groups(group_file, "centre"), by="centre", chunk_size=50)
    patients = result.tally["patients"]
    assert patients[("all",)]["patients"] == total
    assert patients[("all",)]["invalid"] == 1 and patients[("(unlisted)",)]["patients"] == 1  # the broken row
    assert patients[("all",)]["with_plan"] == sum(sum(c.values()) for c in PLANTED.values())
    assert patients[("all",)]["plan_concordant"] == sum(PLANTED["EX01-left-ras-wt"].values()) + sum(PLANTED["EX02-msi-high"].values())
    for centre in (None, "A", "B"):
        group = "all" if centre is None else centre
        for rule, counts in _expected(centre).items():
            got = result.tally["rules"][(group, rule)]
            for name, value in counts.items():
                assert got[name] == value, (group, rule, name)
            assert got["eligible"] >= got["judged"]
    judged_rules = {rule for (group, rule), c in result.tally["rules"].items() if group == "all" and c["judged"]}
    assert judged_rules == set(_expected(None))  # the unplanned synthetic patients judge nothing


def test_workers_count_the_same(cohort):
    sheet, group_file, _ = cohort
    groups = read_groups(group_file, "centre")
    assert run_audit([sheet], groups=groups, chunk_size=40).tally == run_audit([sheet], groups=groups, chunk_size=40, workers=2).tally


def test_wilson_interval_matches_published_values():
    low, high = wilson(8, 10)  # Wilson (1927) score interval, 95%: 0.490-0.943 (Newcombe 1998, method 3)
    assert round(low, 3) == 0.490 and round(high, 3) == 0.943
    assert wilson(0, 0) == (None, None)
    low, high = wilson(0, 20)
    assert low == 0.0 and round(high, 3) == 0.161


def test_csv_rows_and_cli(cohort, tmp_path):
    sheet, group_file, _ = cohort
    assert main(["audit", str(sheet), "--groups", str(group_file), "--by", "centre", "--out", str(tmp_path / "out")]) == 0
    with (tmp_path / "out" / "audit.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    row = next(r for r in table if r["group"] == "all" and r["rule"] == "gk:Rec_S5")
    assert (row["judged"], row["concordant"], row["not-recommended"]) == ("5", "0", "5")
    assert main(["audit", str(sheet), "--by", "centre", "--out", str(tmp_path / "x")]) == 2  # --by needs --groups


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
def test_html_report_renders_in_chromium_without_requests(cohort, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    sheet, group_file, _ = cohort
    result = run_audit([sheet], groups=read_groups(group_file, "centre"), by="centre")
    _, page_file = write_report(result, tmp_path)
    assert render_csv(result).count("\n") > 3 and "<script" not in render_html(result)
    errors: list[str] = []
    requests: list[str] = []
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=flags)
        try:
            page = browser.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda req: requests.append(req.url))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            assert page.locator("h1").inner_text() == "Guideline concordance audit"
            assert page.locator("svg").count() >= 3  # all patients, and one chart per judged rule by centre
            box = page.locator("svg").first.bounding_box()
            assert box and box["width"] > 300 and box["height"] > 50
            assert page.locator("svg rect").count() > 0
            assert "gk:Rec_S5" in page.locator("table").last.inner_text()
        finally:
            browser.close()
    assert not errors, errors
    assert all(u.startswith(("file:", "data:")) for u in requests), requests


def test_a_mapper_counts_the_same_with_groups_it_was_given(cohort):
    """run_audit(mapper=...) (the --engine spark seam): the groups reach the chunks through the
    mapper's shared value, not through the parent's memory, and the counts equal the local ones."""
    import guidekg.audit as audit_module

    sheet, group_file, _ = cohort
    groups = read_groups(group_file, "centre")
    seen = []

    def mapper(work, func, args):
        for chunk in work:
            shared = args[-1]
            seen.append(shared.value == groups)
            audit_module._GROUPS.clear()  # as on a Spark executor: nothing inherited from the parent
            yield func(chunk, *args)

    mapped = run_audit([sheet], groups=groups, by="centre", chunk_size=60, mapper=mapper)
    assert seen and all(seen)
    assert mapped.tally == run_audit([sheet], groups=groups, by="centre", chunk_size=60).tally


def test_audit_run_collects_garbage_rarely_and_restores_the_collector(tmp_path):
    """The audit streams the same chunks as run_batch and gets the same collector thresholds
    (every chunk sees GC_THRESHOLD); the caller's come back afterwards."""
    import gc

    from guidekg.audit import _audit_chunk
    from guidekg.batch import GC_THRESHOLD

    path = tmp_path / "c.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(synthetic_rows(25, seed=3))
    seen = []

    def mapper(work, func, args):
        for chunk in work:
            seen.append(gc.get_threshold())
            yield _audit_chunk(chunk, *args[:2])

    before = gc.get_threshold()
    assert before != GC_THRESHOLD
    result = run_audit([path], mapper=mapper, chunk_size=10)
    assert seen == [GC_THRESHOLD] * 3
    assert gc.get_threshold() == before
    assert result.tally["patients"][("all",)]["patients"] == 25
