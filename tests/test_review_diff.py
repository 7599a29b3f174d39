"""Version diff: a changed recommendation, class definition and trigger are detected, with moved patients."""

from __future__ import annotations

import shutil

from guidekg import resources
from guidekg.review.diff import diff_size, diff_versions
from guidekg.review.model import load_ontology


def test_diff_detects_changes(tmp_path):
    old = tmp_path / "old"
    shutil.copytree(resources.data_dir("ontology"), old)
    new = tmp_path / "new"
    shutil.copytree(old, new)
    statements = new / "statements.ttl"
    text = statements.read_text()
    marker = 'gk:Rec_S3 a gk:Recommendation, owl:NamedIndividual ;'
    assert marker in text
    start = text.index(marker)
    definition = text.index("skos:definition", start)
    statements.write_text(text[:definition] + 'skos:definition "CHANGED TEXT"@en ;\n    rdfs:comment "x" ; ' + text[definition:].split(";", 1)[1])
    guideline = new / "guideline.ttl"
    g = guideline.read_text()
    g = g.replace("gk:triggersRecommendation gk:Rec_S5, gk:Rec_S6a, gk:Amend_FitnessTrialEligibility",
                  "gk:triggersRecommendation gk:Rec_S6a, gk:Amend_FitnessTrialEligibility")
    g = g.replace("gk:AllRASWildtype gk:BRAFNotV600E gk:LeftSidedPrimary gk:PerformanceStatus0to2 ) ] .",
                  "gk:AllRASWildtype gk:BRAFNotV600E gk:LeftSidedPrimary ) ] .")
    guideline.write_text(g)
    diff = diff_versions(load_ontology(old), load_ontology(new))
    changed = {c["id"]: c["changed"] for c in diff["recommendations"]["changed"]}
    assert "skos:definition" in changed["gk:Rec_S3"]
    classes = {c["id"]: c["changed"] for c in diff["classes"]["changed"]}
    assert classes["gk:DoubletPlusAntiEGFR"] == ["definition"]
    assert classes["gk:TripletPlusBevacizumab"] == ["triggers"]
    moved = {p["patient"]: p for p in diff["patients"]}
    assert "gk:Rec_S5" in moved["EX03-kras-mutant-fit"]["lost"]


def test_identical_versions_have_no_diff():
    onto = load_ontology()
    diff = diff_versions(onto, load_ontology())
    assert diff_size(diff) == 0 and diff["patients"] == []
