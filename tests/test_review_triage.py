"""Issue 15 (triage, statements, false findings): findings an author can act on, on the shipped guideline and planted copies."""

from __future__ import annotations

import csv
import io
import re

import pytest

from guidekg.review import run_review
from guidekg.review.report import as_json, render
from guidekg.review.triage import ROBOT_COLUMNS, group_key
from review_planting import plant

FAST = ("encoding", "evidence", "pathway", "statements")


@pytest.fixture(scope="module")
def shipped(shipped_review):
    """The shipped guideline with every check (coverage and logic included), as an author runs it
    (built once per session in conftest; test_review_coverage reads its coverage)."""
    return shipped_review


def test_not_found_statements_with_active_recommendations_are_listed(shipped):
    hits = {f.subject: f.value for f in shipped.findings if f.rule == "recommendation_on_unsupported_statement"}
    # the evidence review marked S8, S19a, S19b and S22b 'not found' and no amendment qualifies them
    assert {"gk:Rec_S8", "gk:Rec_S19a", "gk:Rec_S19b", "gk:Rec_S22b"} <= set(hits)
    assert hits["gk:Rec_S8"] == "gk:S8"


def test_every_statement_appears_in_the_statement_view(shipped):
    ids = {s["id"] for s in shipped.statements}
    assert {"gk:S9", "gk:S14", "gk:S15b", "gk:S16b"} <= ids and len(ids) >= 35
    page = render(shipped, "html")
    for sid in ("S9", "S14", "S15b", "S16b"):
        assert f"id='stmt-{sid}'" in page
    s14 = next(s for s in shipped.statements if s["id"] == "gk:S14")
    assert s14["verdict"] == "disputed" and s14["note"] and [c["id"] for c in s14["citations"] if c["unlisted"]] == ["gk:Cit_6"]
    assert {e["kind"] for e in s14["encodings"]} == {"fact"}


def test_no_false_uncited_sources(shipped):
    uncited = {f.subject for f in shipped.findings if f.rule == "source_cited_by_nothing"}
    cited_by_alerts_or_facts = {f"gk:Ref_R{n}" for n in (20, 21, 22, 25, 26, 27, 31, 35, 37)}
    assert not uncited & cited_by_alerts_or_facts
    assert not uncited & {"gk:Ref_R16", "gk:Ref_R39"}  # named by the evidence review's notes on S22a and S21a/b
    assert len(uncited) <= 2


def test_findings_have_stable_ids_fix_text_and_are_grouped_by_statement(shipped):
    ids = [f.id for f in shipped.findings]
    assert len(ids) == len(set(ids))
    rec_s8 = next(f for f in shipped.findings if f.subject == "gk:Rec_S8")
    assert rec_s8.id == "recommendation_on_unsupported_statement/Rec_S8/encodesStatement/S8"
    assert group_key(shipped.onto, rec_s8) == "gk:S8"
    page = render(shipped, "html")
    assert "add an amendment with review references" in page  # the query's Solution header is shown as the fix
    data = as_json(shipped)
    assert all(f["fix"] for f in data["findings"]), [f["id"] for f in data["findings"] if not f["fix"]]


def test_witnesses_are_short_with_valid_values(shipped):
    witnesses = [dict(f.witness) for f in shipped.findings if f.witness]
    witnesses += [c["witness"] for f in shipped.findings for c in dict(f.details).get("cases", [])]
    assert witnesses
    for w in witnesses:
        assert not any("(or " in v for v in w.values()), w
        ecog = w.get("ECOG performance status")
        assert ecog in (None, "missing") or 0 <= int(ecog) <= 5, w
        assert len(w) <= 8
    s2 = next(f for f in shipped.findings if f.id.startswith("literal_reading_disagreement/Literal_S2"))
    assert dict(s2.witness) == {"ECOG performance status": "3", "MSI status": "MSI-H"}


def test_s3_s6_conflict_is_one_finding_and_testing_is_not_a_contradiction(shipped):
    contradictions = [f for f in shipped.findings if f.rule == "source_internal_contradiction"]
    assert not [f for f in contradictions if "S17" in f.subject]
    s3_s6 = [f for f in contradictions if "Literal_S3" in f.subject and "Literal_S6" in f.subject]
    assert len(s3_s6) == 1
    pivots = {c["pivot"] for c in dict(s3_s6[0].details)["cases"]}
    assert {"gk:krasStatus", "gk:nrasStatus", "gk:brafStatus"} <= pivots
    nras = next(c for c in dict(s3_s6[0].details)["cases"] if c["pivot"] == "gk:nrasStatus")
    assert nras["witness"]["NRAS status"] == "NRAS mutant" and nras["witness"]["KRAS status"] == "KRAS wild type (exons 2-4)"


def test_waivers_accept_findings_apart_and_stop_counting(tmp_path):
    folder = plant("statement_unencoded", tmp_path)
    before = run_review(folder, parts=FAST)
    target = next(f for f in before.findings if f.rule == "statement_not_encoded")
    assert target.subject == "gk:S99"
    (folder / "review-waivers.csv").write_text(f"id,reason,who,date\n{target.id},planted on purpose,tester,2026-11-30\n")
    after = run_review(folder, parts=FAST)
    assert [f.id for f in after.accepted] == [target.id]
    assert after.counts()["WARN"] == before.counts()["WARN"] - 1
    page = render(after, "html")
    assert "planted on purpose" in page and "accepted: 1" in page
    (folder / "review-waivers.csv").write_text("id,reason,who,date\nsome/id,,x,y\n")
    with pytest.raises(ValueError, match="review-waivers.csv:2"):
        run_review(folder, parts=FAST)


def test_statement_without_encoding_is_found(tmp_path):
    review = run_review(plant("statement_unencoded", tmp_path), parts=FAST)
    assert ("statement_not_encoded", "gk:S99") in {(f.rule, f.subject) for f in review.findings}
    assert "not encoded" in render(review, "html")


def test_removed_s3_citation_gives_finding_and_diff(tmp_path):
    folder = plant("s3_citation_removed", tmp_path)
    alone = run_review(folder, parts=FAST)
    assert ("recommendation_evidence_differs_from_citations", "gk:Rec_S3", "gk:Cit_1") in {
        (f.rule, f.subject, f.value) for f in alone.findings}
    review = run_review(folder, against=plant_shipped(tmp_path), parts=FAST)
    change = next(s for s in review.diff["statements"] if s["id"] == "gk:S3")
    assert change["before"]["citations"] == ["gk:Cit_1", "gk:Cit_2"] and change["after"]["citations"] == ["gk:Cit_2"]
    assert "statement_citations_changed/S3/citation" in {f.id for f in review.findings}
    new = {f.id for f in review.comparison["new"]}
    assert "statement_citations_changed/S3/citation" in new
    assert any(i.startswith("recommendation_evidence_differs_from_citations/Rec_S3") for i in new)
    assert review.comparison["unchanged"] and not review.comparison["resolved"]
    page = render(review, "html")
    assert "id='changes'" in page and "gk:Cit_1, gk:Cit_2" in page and "<pre>" not in page


def plant_shipped(tmp_path):
    """An untouched copy of the shipped ontology, as the 'older version'."""
    import shutil

    from review_planting import ROOT

    old = tmp_path / "old"
    shutil.copytree(ROOT / "ontology", old)
    return old


def test_deleted_recommendation_lists_the_patients_it_affects(tmp_path):
    folder = plant("recommendation_deleted", tmp_path)
    review = run_review(folder, against=plant_shipped(tmp_path), parts=("encoding",))
    assert review.diff["recommendations"]["removed"] == ["gk:Rec_S2"]
    assert "EX02-msi-high" in review.diff["removed_recommendation_patients"]["gk:Rec_S2"]
    page = render(review, "html")
    assert "EX02-msi-high" in page
    assert "https://w3id.org/guidekg" not in page.split("id='changes'")[1].split("id='statements'")[0]  # CURIEs only


def test_csv_and_tsv_export_use_robot_report_columns(shipped):
    for fmt, sep in (("tsv", "\t"), ("csv", ",")):
        rows = list(csv.reader(io.StringIO(render(shipped, fmt)), delimiter=sep))
        assert tuple(rows[0][:5]) == ROBOT_COLUMNS == ("Level", "Rule Name", "Subject", "Property", "Value")
        assert len(rows) == len(shipped.findings) + 1
        levels = [r[0] for r in rows[1:]]
        assert levels == sorted(levels, key=["ERROR", "WARN", "INFO"].index)
        assert all(re.match(r"^[a-z_]+/", r[5]) for r in rows[1:])


def test_evidence_trail_per_recommendation_is_deterministic_with_legend_and_links():
    from guidekg.review.html import Links, _trail_svg

    pictures = []
    for _ in range(2):
        review = run_review(parts=FAST)
        pictures.append(_trail_svg(review, "gk:Rec_S3", Links(review)))
    assert pictures[0] == pictures[1]
    svg = pictures[0]
    assert 'href="#stmt-S3"' in svg and 'href="#src-Ref_R7"' in svg and 'data-id="gk:Amend_AntiEGFREligibility"' in svg
    assert "review reference" in svg and "<title>" in svg  # legend and tooltips
    assert svg.index('data-id="gk:S3"') and "Evidence trail of gk:Rec_S3" in svg
