"""FHIR R4 ingest: every mapped fact, every kind of bad input, IG examples, bounded-memory bulk."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from rdflib import XSD, Literal, URIRef

from fhir_helpers import GKCS, LATERALITY, LOINC, RXNORM, SCT, bundle, cc, obs, patient, rectal_primary, required_facts, variant, write
from guidekg.ingest import InputError, read_patients
from guidekg.ingest.fhir import OUT_OF_SCOPE, IngestReport, read_fhir
from guidekg.model import literal_key
from guidekg.namespaces import GK
from guidekg.recommend import assess

ROOT = Path(__file__).resolve().parents[1]
IG = ROOT / "tests" / "data" / "fhir-ig"


def one(tmp_path: Path, *resources: dict) -> object:
    records = list(read_fhir(write(tmp_path / "b.json", bundle(patient(), *resources))))
    assert len(records) == 1
    return records[0]


def values(record, prop: str) -> set:
    return {literal_key(v) for v in record.values(str(GK[prop]))}


# ---------------------------------------------------------------------------- mapped facts
FACTS = [
    ("rectal primary (code implies site)", [{"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p1"},
                                              "code": cc(SCT, "363351006")}], "primarySite", GK.Rectum),
    ("colon primary with bodySite", [{"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p1"},
                                      "code": cc(SCT, "363406005"), "bodySite": [cc(SCT, "60184004")]}], "primarySite", GK.SigmoidColon),
    ("bilobar liver metastases", [{"resourceType": "Condition", "id": "m", "subject": {"reference": "Patient/p1"},
                                   "code": cc(SCT, "94381002"), "bodySite": [dict(cc(SCT, "10200004"), extension=[
                                       {"url": LATERALITY, "valueCodeableConcept": cc(SCT, "51440002")}])]}],
     "liverMetastasisExtent", GK.Bilobar),
    ("ECOG integer", [obs(cc(LOINC, "89247-1"), valueInteger=2)], "ecog", Literal(2, datatype=XSD.integer)),
    ("ECOG LA answer", [obs(cc(LOINC, "89247-1"), valueCodeableConcept=cc(LOINC, "LA9625-0"))], "ecog", Literal(3, datatype=XSD.integer)),
    ("age quantity", [obs(cc(LOINC, "30525-0"), valueQuantity={"value": 61, "unit": "a"})], "age", Literal(61, datatype=XSD.integer)),
    ("MSI-H", [obs(cc(LOINC, "81695-9"), valueCodeableConcept=cc(LOINC, "LA26203-2"))], "msiStatus", GK.MSI_High),
    ("MSS", [obs(cc(LOINC, "81695-9"), valueCodeableConcept=cc(LOINC, "LA14122-8"))], "msiStatus", GK.MSS),
    ("KRAS present", [variant("HGNC:6407", True)], "krasStatus", GK.KRAS_Mutant),
    ("KRAS absent", [variant("HGNC:6407", False)], "krasStatus", GK.KRAS_Wildtype),
    ("NRAS present", [variant("HGNC:7989", True)], "nrasStatus", GK.NRAS_Mutant),
    ("BRAF p.Val600Glu", [variant("HGNC:1097", True, "p.Val600Glu")], "brafStatus", GK.BRAF_V600E),
    ("BRAF other variant", [variant("HGNC:1097", True, "p.Gly469Ala")], "brafStatus", GK.BRAF_NonV600E),
    ("BRAF absent", [variant("HGNC:1097", False)], "brafStatus", GK.BRAF_Wildtype),
    ("planned bevacizumab", [{"resourceType": "MedicationRequest", "id": "mr", "status": "active", "intent": "plan",
                              "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": cc(RXNORM, "253337")}],
     "plannedAction", GK.Bevacizumab),
    ("planned regimen (project code)", [{"resourceType": "MedicationRequest", "id": "mr", "status": "active", "intent": "proposal",
                                         "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": cc(GKCS, "folfox")}],
     "plannedAction", GK.FOLFOX),
    ("planned hepatectomy", [{"resourceType": "ServiceRequest", "id": "sr", "status": "active", "intent": "order",
                              "subject": {"reference": "Patient/p1"}, "code": cc(GKCS, "hepatectomy")}], "plannedAction", GK.Hepatectomy),
    ("resectability (project)", [obs(cc(GKCS, "resectability"), valueCodeableConcept=cc(GKCS, "converted-resectable"))],
     "resectability", GK.ConvertedResectable),
    ("HPB MDT reviewed (project boolean)", [obs(cc(GKCS, "hpb-mdt-reviewed"), valueBoolean=True)], "hpbMdtReviewed", Literal(True)),
    ("months on chemotherapy (project decimal)", [obs(cc(GKCS, "months-on-chemotherapy"), valueQuantity={"value": 4.5, "unit": "mo"})],
     "monthsOnChemotherapy", Literal("4.5", datatype=XSD.decimal)),
]


@pytest.mark.parametrize(("label", "resources", "prop", "expected"), FACTS, ids=[f[0] for f in FACTS])
def test_each_mapped_fact(tmp_path, label, resources, prop, expected):
    extra = [] if prop == "primarySite" else [rectal_primary()]
    record = one(tmp_path, *extra, *resources)
    assert values(record, prop) == {literal_key(expected)}, label  # exactly that value: no second, stray or default value


def test_last_bevacizumab_is_the_latest_administration_and_surgery_the_next(tmp_path):
    def admin(rid, day):
        return {"resourceType": "MedicationAdministration", "id": rid, "status": "completed", "subject": {"reference": "Patient/p1"},
                "medicationCodeableConcept": cc(RXNORM, "253337"), "effectiveDateTime": day}

    def surgery(rid, day):
        return {"resourceType": "ServiceRequest", "id": rid, "status": "active", "intent": "plan", "subject": {"reference": "Patient/p1"},
                "code": cc(GKCS, "hepatectomy"), "occurrenceDateTime": day}

    record = one(tmp_path, rectal_primary(), admin("a1", "2026-09-01"), admin("a2", "2026-10-20"),
                 surgery("s1", "2026-12-01"), surgery("s2", "2026-11-20"))
    assert values(record, "lastBevacizumabDate") == {literal_key(Literal("2026-10-20", datatype=XSD.date))}
    assert values(record, "plannedSurgeryDate") == {literal_key(Literal("2026-11-20", datatype=XSD.date))}


def test_age_from_birth_date_and_as_of(tmp_path):
    record = one(tmp_path, rectal_primary(), obs(cc(GKCS, "as-of"), valueDateTime="2026-11-01"))
    assert values(record, "age") == set()
    records = list(read_fhir(write(tmp_path / "a.json", bundle(patient(birthDate="1960-11-02"), rectal_primary(),
                                                               obs(cc(GKCS, "as-of"), valueDateTime="2026-11-01")))))
    assert values(records[0], "age") == {literal_key(Literal(65, datatype=XSD.integer))}


def test_patient_without_colorectal_primary_is_out_of_scope(tmp_path):
    record = one(tmp_path, obs(cc(LOINC, "89247-1"), valueInteger=1))
    assert [f.message for f in record.findings] == [OUT_OF_SCOPE]
    assert record.ingest_failed


def test_example_patients_round_trip_through_fhir():
    csv = {r.patient_id: r for r in read_patients([ROOT / "examples" / "patients.csv"])}
    for folder in (ROOT / "examples" / "fhir", ROOT / "examples" / "fhir" / "bulk"):
        fhir = list(read_patients([folder]))
        assert [r.patient_id for r in fhir] == list(csv)
        for record in fhir:
            want = {k: sorted(map(literal_key, v)) for k, v in csv[record.patient_id].facts.items()}
            got = {k: sorted(map(literal_key, v)) for k, v in record.facts.items()}
            assert got == want, record.patient_id
            # the writer records a RAS mutation gene-level (no HGVS change): read as mutant, with a note
            assert all("without a stated change" in f.message for f in record.findings), record.patient_id


# ---------------------------------------------------------------------------- bad input
def test_invalid_json_file_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"resourceType": "Bundle",\n  "entry": [,]}', encoding="utf-8")
    with pytest.raises(InputError) as err:
        list(read_fhir(path))
    assert "bad.json:2" in str(err.value) and "column" in str(err.value)


def test_invalid_ndjson_line_is_reported_and_other_patients_kept(tmp_path):
    lines = [json.dumps(patient("a")), "{not json", json.dumps(patient("b"))]
    (tmp_path / "Patient.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = list(read_fhir(tmp_path))
    assert [r.patient_id for r in records if not r.patient_id.startswith(str(tmp_path))] == ["a", "b"]
    bad = [r for r in records if r.patient_id.startswith(str(tmp_path))]
    assert len(bad) == 1 and "Patient.ndjson:2:2" in bad[0].findings[0].message


def test_resource_failing_the_model_names_id_and_element(tmp_path):
    broken = obs(cc(LOINC, "81695-9"), rid="obs-broken", valueCodeableConcept={"coding": "LA26203-2"})
    record = one(tmp_path, rectal_primary(), broken)
    finding = next(f for f in record.findings if "obs-broken" in f.message)
    assert finding.path == "Observation.valueCodeableConcept.coding" and finding.severity == "violation"


def test_reference_to_missing_patient_becomes_invalid_record(tmp_path):
    path = write(tmp_path / "b.json", bundle(patient("p1"), rectal_primary("p1"), rectal_primary("ghost", "c9")))
    records = list(read_fhir(path))
    assert [r.patient_id for r in records] == ["p1", "ghost"]
    assert not records[0].ingest_failed
    assert "Patient/ghost" in records[1].findings[0].message and "Condition/c9" in records[1].findings[0].message


def test_unknown_code_system_is_a_finding_naming_resource_and_element(tmp_path):
    record = one(tmp_path, rectal_primary(), obs({"coding": [{"system": "http://example.org/local", "code": "x"}]}, rid="o-local"))
    finding = next(f for f in record.findings if "o-local" in f.message)
    assert finding.path == "Observation.code.coding[0]" and "http://example.org/local" in finding.message


def test_two_conflicting_msi_results_keep_both_and_are_contradictory(tmp_path, fast):
    record = one(tmp_path, *required_facts(),
                 obs(cc(LOINC, "81695-9"), rid="msi1", valueCodeableConcept=cc(LOINC, "LA26203-2")),
                 obs(cc(LOINC, "81695-9"), rid="msi2", valueCodeableConcept=cc(LOINC, "LA14122-8")))
    assert values(record, "msiStatus") == {literal_key(GK.MSI_High), literal_key(GK.MSS)}
    [result] = assess([record], reasoner=fast)
    assert result.status == "contradictory"


def test_observation_without_subject_is_named_and_others_processed(tmp_path):
    orphan = obs(cc(LOINC, "89247-1"), rid="lonely", valueInteger=1)
    del orphan["subject"]
    records = list(read_fhir(write(tmp_path / "b.json", bundle(patient(), rectal_primary(), orphan))))
    assert records[0].patient_id == "p1" and not records[0].ingest_failed
    assert "Observation/lonely has no subject" in records[1].findings[0].message


def test_unmapped_resources_are_counted_on_stderr(tmp_path, capsys):
    weight = obs(cc(LOINC, "29463-7"), rid="w", valueQuantity={"value": 70, "unit": "kg"})
    report = IngestReport()
    list(read_fhir(write(tmp_path / "b.json", bundle(patient(), rectal_primary(), weight,
                                                     {"resourceType": "Practitioner", "id": "doc"})), report))
    assert report.unmapped["Observation"] == 1
    err = capsys.readouterr().err.splitlines()
    assert any("1 of 1 Observation resources not mapped" in line for line in err)
    assert any("1 Practitioner resources ignored" in line for line in err)


def test_searchset_and_transaction_bundles_and_urn_references(tmp_path):
    doc = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111", "resource": {"resourceType": "Patient", "id": "tx"},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": dict(rectal_primary(), subject={"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"}),
         "request": {"method": "POST", "url": "Condition"}}]}
    [record] = list(read_fhir(write(tmp_path / "t.json", doc)))
    assert record.patient_id == "tx" and values(record, "primarySite") == {literal_key(GK.Rectum)}


# ---------------------------------------------------------------------------- public IG examples
def test_public_ig_examples_parse_and_are_out_of_scope(fast):
    inputs = [IG / "mcode", IG / "genomics-reporting" / "Observation-SNVexample.json"]
    records = list(read_patients(inputs))
    assert len(records) == 3
    results = assess(records, reasoner=fast)
    assert all(r.status == "invalid" and not r.recommendations for r in results)
    john = results[0]
    assert john.record.patient_id == "mCODEPatientExample01"
    assert OUT_OF_SCOPE in [f.message for f in john.validation]
    assert values(john.record, "ecog") == {literal_key(Literal(0, datatype=XSD.integer))}
    assert values(john.record, "sex") == {literal_key(URIRef(GK.Male))}


# ---------------------------------------------------------------------------- streaming bulk export
def _bulk(folder: Path, n: int) -> Path:
    folder.mkdir()
    with (folder / "Patient.ndjson").open("w") as pats, (folder / "Condition.ndjson").open("w") as conds, \
            (folder / "Observation.ndjson").open("w") as obss:
        for i in range(n):
            pid = f"pt{i}"
            pats.write(json.dumps(patient(pid, gender="female")) + "\n")
            conds.write(json.dumps(rectal_primary(pid, f"c{i}")) + "\n")
            obss.write(json.dumps(obs(cc(LOINC, "89247-1"), pid, f"e{i}", valueInteger=i % 3)) + "\n")
            obss.write(json.dumps(variant("HGNC:6407", bool(i % 2), pid=pid, rid=f"k{i}")) + "\n")
    return folder


def _peak(folder: Path) -> tuple[int, int]:
    count = 0
    tracemalloc.start()
    for _record in read_fhir(folder, IngestReport()):
        count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return count, peak


@pytest.mark.slow
def test_bulk_streaming_memory_does_not_grow_with_file_size(tmp_path):
    small_n, small_peak = _peak(_bulk(tmp_path / "small", 2_000))
    big_n, big_peak = _peak(_bulk(tmp_path / "big", 10_000))
    assert (small_n, big_n) == (2_000, 10_000)
    assert big_peak < small_peak * 1.5 + 1_000_000, (small_peak, big_peak)
