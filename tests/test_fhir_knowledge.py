"""The guideline as FHIR knowledge artifacts: PlanDefinition, ActivityDefinitions, Library, CodeSystems.

Expectations are read from the ontology with plain triple lookups (rdflib), not from the export code.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from rdflib import RDFS, URIRef
from rdflib.namespace import SKOS

from fhir_schema import profile_errors
from guidekg import resources
from guidekg.cli import main
from guidekg.export.fhir_issues import DETECTED_ISSUE_URL
from guidekg.export.fhir_knowledge import LIBRARY_URL, PLAN_URL, knowledge_resources
from guidekg.ingest.fhir_map import CODESYSTEM_URL
from guidekg.knowledge import knowledge
from guidekg.namespaces import GK

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.fixture(scope="module")
def artifacts():
    out: dict[str, list[dict]] = {}
    for r in knowledge_resources():
        out.setdefault(r["resourceType"], []).append(r)
    return out


@pytest.fixture(scope="module")
def plan(artifacts):
    [plan] = artifacts["PlanDefinition"]
    return plan


@pytest.fixture(scope="module")
def actions(plan):
    return {a["id"]: a for a in plan["action"]}


def test_one_plan_action_per_recommendation(plan, actions):
    graph = knowledge().graph
    triggered = {str(o).rsplit("#", 1)[-1] for o in graph.objects(None, GK.triggersRecommendation)}
    assert set(actions) == triggered
    assert len(plan["action"]) == len(triggered)
    assert plan["url"] == PLAN_URL and plan["library"] == [LIBRARY_URL]


def test_action_carries_text_category_strength_and_condition(actions):
    graph = knowledge().graph
    for local, action in actions.items():
        rec = GK[local]
        assert action["title"] == str(graph.value(rec, RDFS.label))
        definition = graph.value(rec, SKOS.definition)
        if definition is not None:
            assert action["description"] == str(definition)
        strength = graph.value(rec, GK.strength)
        if strength is not None:
            [ext] = action["extension"]
            assert ext["url"] == "http://hl7.org/fhir/StructureDefinition/cqf-strengthOfRecommendation"
            assert ext["valueCodeableConcept"]["text"] == str(strength)
        triggers = sorted(str(c) for c in graph.subjects(GK.triggersRecommendation, rec))
        [condition] = action["condition"]
        assert condition["kind"] == "applicability"
        expression = condition["expression"]
        assert expression["language"] == "text/fhirpath"
        for cls in triggers:
            assert f"'{cls}'" in expression["expression"]
            class_definition = graph.value(URIRef(cls), SKOS.definition)
            if class_definition is not None:
                assert str(class_definition) in expression["description"]
        if len(triggers) == 1:
            assert expression["reference"] == triggers[0]


def test_each_drug_is_its_own_concept(actions):
    """Regression: one CodeableConcept held both cetuximab (RxNorm 318341) and panitumumab (263034)."""
    for action in actions.values():
        for concept in action.get("code", []):
            rxnorm = {c["code"] for c in concept.get("coding", []) if c["system"] == RXNORM}
            assert len(rxnorm) <= 1, (action["id"], concept)
    rec_s3 = {c["text"]: c for c in actions["Rec_S3"]["code"]}
    assert {"318341"} == {c["code"] for c in rec_s3["cetuximab"]["coding"] if c["system"] == RXNORM}
    assert {"263034"} == {c["code"] for c in rec_s3["panitumumab"]["coding"] if c["system"] == RXNORM}


def test_do_not_actions_point_at_do_not_perform_definitions(artifacts, actions):
    """Regression: 'avoid' actions carried the drug code with the negation only in text."""
    definitions = {a["url"]: a for a in artifacts["ActivityDefinition"]}
    graph = knowledge().graph
    avoid = {str(s).rsplit("#", 1)[-1] for s in graph.subjects(GK.actionIntent, None)
             if str(graph.value(s, GK.actionIntent)) == "avoid"}
    assert "Rec_S20" in avoid
    for local in avoid:
        action = actions[local]
        canonicals = [action["definitionCanonical"]] if "definitionCanonical" in action else \
            [sub["definitionCanonical"] for sub in action["action"]]
        for canonical in canonicals:
            assert definitions[canonical]["doNotPerform"] is True
    bev = definitions[actions["Rec_S20"]["definitionCanonical"]]
    assert bev["kind"] == "MedicationRequest"
    assert {"system": RXNORM, "code": "253337"} in bev["code"]["coding"]
    perform = [a for k, a in actions.items() if k not in avoid and "definitionCanonical" in a]
    assert perform and all(definitions[a["definitionCanonical"]]["doNotPerform"] is False for a in perform)


def test_one_citation_per_related_artifact(actions):
    """Regression: FIRE-3 (two papers) gave one RelatedArtifact.url holding both DOIs."""
    graph = knowledge().graph
    dois = sorted(str(d) for d in graph.objects(GK.Ref_R12, GK.doi))
    assert len(dois) == 2
    items = {str(s).rsplit("#", 1)[-1] for s in graph.subjects(GK.hasEvidence, GK.Ref_R12)} & set(actions)
    assert items
    for local in items:
        docs = [d for d in actions[local]["documentation"] if d.get("label") == "gk:Ref_R12"]
        assert sorted(d["url"] for d in docs) == [f"https://doi.org/{d}" for d in dois]
    for action in actions.values():
        for doc in action["documentation"]:
            assert " " not in doc.get("url", ""), (action["id"], doc)


def test_library_holds_the_ontology_modules(artifacts):
    [library] = artifacts["Library"]
    assert library["url"] == LIBRARY_URL
    assert library["type"]["coding"][0]["code"] == "logic-library"
    by_title = {c["title"]: c for c in library["content"]}
    assert set(by_title) == {f"ontology/{m}.ttl" for m in resources.ONTOLOGY_MODULES}
    for module in resources.ONTOLOGY_MODULES:
        data = resources.path("ontology", module).read_bytes()
        content = by_title[f"ontology/{module}.ttl"]
        assert base64.b64decode(content["data"]) == data
        assert content["hash"] == base64.b64encode(hashlib.sha1(data).digest()).decode()
    assert {a["resource"] for a in library["relatedArtifact"]} == {CODESYSTEM_URL, DETECTED_ISSUE_URL}


def test_detected_issue_codesystem_lists_every_alert(artifacts):
    systems = {cs["url"]: cs for cs in artifacts["CodeSystem"]}
    issues = systems[DETECTED_ISSUE_URL]
    codes = {c["code"] for c in issues["concept"]}
    graph = knowledge().graph
    alerts = {str(a).rsplit("#", 1)[-1] for a in graph.subjects(None, GK.Alert) if isinstance(a, URIRef)}
    assert alerts and alerts <= codes
    assert {"plan-contraindicated", "plan-not-recommended"} <= codes
    assert issues["count"] == len(issues["concept"])
    assert CODESYSTEM_URL in systems


def test_cli_writes_the_knowledge_bundle(tmp_path):
    out = tmp_path / "knowledge.json"
    assert main(["fhir-knowledge", "--out", str(out)]) == 0
    bundle = json.loads(out.read_text(encoding="utf-8"))
    urls = {e["resource"].get("url") for e in bundle["entry"]}
    assert {PLAN_URL, LIBRARY_URL, DETECTED_ISSUE_URL, CODESYSTEM_URL} <= urls


def test_knowledge_artifacts_meet_the_shareable_profiles_they_declare(artifacts):
    """Each artifact declares the core R4 shareable profile of its type, and meets it (url, version, name,
    experimental, publisher, description; CodeSystem.concept.code)."""
    for rtype, resources_ in artifacts.items():
        for resource in resources_:
            assert resource["meta"]["profile"] == [f"http://hl7.org/fhir/StructureDefinition/shareable{rtype.lower()}"]
            assert profile_errors(resource) == []
    broken = dict(artifacts["PlanDefinition"][0])
    del broken["publisher"]
    assert profile_errors(broken) == ["PlanDefinition/guideline: PlanDefinition.publisher is required by "
                                      "http://hl7.org/fhir/StructureDefinition/shareableplandefinition"]
