"""Real-world FHIR records (issue 12 parts 1-5, issue 11 Procedures): each test is a real public resource
or the project example EX01 (left-sided, all wild type, FOLFOX + panitumumab) with one element changed."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from rdflib import XSD, Literal

from fhir_helpers import GKCS, LOINC, SCT, cc, write
from guidekg.ingest import read_patients
from guidekg.ingest.fhir import OUT_OF_SCOPE, read_fhir
from guidekg.model import literal_key
from guidekg.namespaces import GK
from guidekg.recommend import assess

ROOT = Path(__file__).resolve().parents[1]
EX01 = json.loads((ROOT / "examples" / "fhir" / "EX01-left-ras-wt.json").read_text(encoding="utf-8"))
MII = ROOT / "tests" / "data" / "fhir-ig" / "mii" / "Bundle-molgen-patient-1-excerpt.json"
ANTI_EGFR = str(GK.DoubletPlusAntiEGFR)  # EX01 as published is in this class


def ex01() -> dict:
    return copy.deepcopy(EX01)


def entry(bundle: dict, rid: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == rid)


def read(tmp_path: Path, bundle: dict):
    records = list(read_fhir(write(tmp_path / "b.json", bundle)))
    assert len(records) == 1
    return records[0]


def values(record, prop: str) -> set:
    return {literal_key(v) for v in record.values(str(GK[prop]))}


def result(tmp_path: Path, bundle: dict, fast):
    return assess([read(tmp_path, bundle)], reasoner=fast)[0]


def messages(record) -> str:
    return "\n".join(f.message for f in record.findings)


# ------------------------------------------------------------------ real public data (MII, CC-BY-4.0)
def test_mii_icd10gm_primary_and_hgvs_braf_v600e_are_read():
    record = list(read_fhir(MII))[0]
    assert values(record, "primarySite") == {("iri", str(GK.SigmoidColon))}
    assert values(record, "brafStatus") == {("iri", str(GK.BRAF_V600E))}  # written p.(Val600Glu)
    assert OUT_OF_SCOPE not in messages(record)
    # born 1985-08-14; the latest date of the excerpt is the variant's effectiveDateTime 2022-04-07
    assert values(record, "age") == {("num", 36)} and "at 2022-04-07, the latest date in the record" in messages(record)


def test_mii_variant_with_only_the_cdna_change_is_still_v600e(tmp_path):
    bundle = json.loads(MII.read_text(encoding="utf-8"))
    variant = entry(bundle, "mii-exa-test-data-patient-3-molgen-variante-1")
    variant["component"] = [c for c in variant["component"] if c["code"]["coding"][0]["code"] != "48005-3"]
    assert values(read(tmp_path, bundle), "brafStatus") == {("iri", str(GK.BRAF_V600E))}


def test_ex01_as_published_gets_anti_egfr(tmp_path, fast):
    assert ANTI_EGFR in result(tmp_path, ex01(), fast).treatment_classes  # so the checks below can fail


def test_braf_present_without_a_change_is_testing_first_not_anti_egfr(tmp_path, fast):
    bundle = ex01()
    braf = entry(bundle, "EX01-left-ras-wt-obs13")
    braf["valueCodeableConcept"] = cc(LOINC, "LA9633-4")  # present, no protein change given
    res = result(tmp_path, bundle, fast)
    assert values(res.record, "brafStatus") == {("iri", str(GK.BRAF_NotTested))}
    assert str(GK.MolecularTestingRequired) in res.treatment_classes
    assert ANTI_EGFR not in res.treatment_classes
    assert any("Observation/EX01-left-ras-wt-obs13" in f.message for f in res.record.findings)


@pytest.mark.parametrize("aa", ["p.Val600Glu", "p.(Val600Glu)", "NP_004324.2:p.Val600Glu"])
def test_braf_v600e_in_hgvs_gets_no_anti_egfr(tmp_path, fast, aa):
    bundle = ex01()
    braf = entry(bundle, "EX01-left-ras-wt-obs13")
    braf["valueCodeableConcept"] = cc(LOINC, "LA9633-4")
    braf["component"].append({"code": cc(LOINC, "48005-3"), "valueCodeableConcept": cc("http://varnomen.hgvs.org", aa)})
    res = result(tmp_path, bundle, fast)
    assert values(res.record, "brafStatus") == {("iri", str(GK.BRAF_V600E))}
    assert ANTI_EGFR not in res.treatment_classes


def test_copy_number_result_is_never_a_mutation(tmp_path):
    bundle = ex01()
    kras = entry(bundle, "EX01-left-ras-wt-obs11")
    kras["valueCodeableConcept"] = cc(LOINC, "LA9633-4")
    kras["component"].append({"code": cc(LOINC, "48019-4"),
                              "valueCodeableConcept": cc("http://www.sequenceontology.org", "SO:0001019")})
    record = read(tmp_path, bundle)
    assert values(record, "krasStatus") == {("iri", str(GK.KRAS_NotTested))}
    assert "copy-number" in messages(record)


# ------------------------------------------------------------------ clinical status
@pytest.mark.parametrize("change,expect", [
    ({"clinicalStatus": cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved")}, "not active"),
    ({"abatementDateTime": "2024-01-01"}, "not active"),
    ({"verificationStatus": cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "differential")}, "not confirmed"),
    ({"verificationStatus": cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "provisional")}, "not confirmed"),
])
def test_primary_that_does_not_count_gets_no_regimen(tmp_path, fast, change, expect):
    bundle = ex01()
    entry(bundle, "EX01-left-ras-wt-con3").update(change)
    res = result(tmp_path, bundle, fast)
    assert res.status == "invalid" and not res.recommendations
    named = [f for f in res.record.findings if "Condition/EX01-left-ras-wt-con3" in f.message]
    assert named and expect in named[0].message and named[0].severity == "violation"
    assert OUT_OF_SCOPE not in messages(res.record)


def test_recurrence_counts(tmp_path):
    bundle = ex01()
    entry(bundle, "EX01-left-ras-wt-con3")["clinicalStatus"] = cc(
        "http://terminology.hl7.org/CodeSystem/condition-clinical", "recurrence")
    record = read(tmp_path, bundle)
    assert values(record, "primarySite") == {("iri", str(GK.Rectum))} and not record.ingest_failed


def test_deceased_patient_gets_no_recommendations(tmp_path, fast):
    bundle = ex01()
    entry(bundle, "EX01-left-ras-wt")["deceasedDateTime"] = "2024-02-01"
    res = result(tmp_path, bundle, fast)
    assert res.status == "invalid" and not res.recommendations
    assert "is deceased" in messages(res.record)


# ------------------------------------------------------------------ codes
def test_icd10cm_rectal_primary_is_in_scope(tmp_path):
    bundle = ex01()
    entry(bundle, "EX01-left-ras-wt-con3")["code"] = cc("http://hl7.org/fhir/sid/icd-10-cm", "C20")
    record = read(tmp_path, bundle)
    assert values(record, "primarySite") == {("iri", str(GK.Rectum))}
    assert OUT_OF_SCOPE not in messages(record)


def test_icd10cm_liver_metastases(tmp_path):
    bundle = ex01()
    liver = entry(bundle, "EX01-left-ras-wt-con5")
    liver["code"] = cc("http://hl7.org/fhir/sid/icd-10-cm", "C78.7")
    assert values(read(tmp_path, bundle), "liverMetastasisExtent") == {("iri", str(GK.Bilobar))}


def test_unmapped_oncology_code_is_a_warning_naming_the_resource(tmp_path):
    bundle = ex01()
    entry(bundle, "EX01-left-ras-wt-con3")["code"] = cc("http://fhir.de/CodeSystem/bfarm/icd-10-gm", "C21.8")
    record = read(tmp_path, bundle)
    warned = [f for f in record.findings if "looks relevant" in f.message]
    assert warned and "Condition/EX01-left-ras-wt-con3" in warned[0].message and warned[0].severity == "warning"


@pytest.mark.parametrize("value,ecog", [({"valueInteger": 2}, 2),
                                        ({"valueCodeableConcept": cc(SCT, "423053003")}, 3),
                                        ({"valueCodeableConcept": cc(LOINC, "LA9623-5")}, 1)])
def test_ecog_as_snomed_423740007(tmp_path, value, ecog):
    bundle = ex01()
    obs = entry(bundle, "EX01-left-ras-wt-obs15")
    obs["code"] = cc(SCT, "423740007")
    obs.pop("valueInteger", None)
    obs.pop("valueCodeableConcept", None)
    obs.update(value)
    assert values(read(tmp_path, bundle), "ecog") == {literal_key(Literal(ecog, datatype=XSD.integer))}


def test_her2_by_ihc_18474_7_keeps_the_her2_alert(tmp_path, fast):
    bundle = ex01()
    her2 = entry(bundle, "EX01-left-ras-wt-obs14")
    her2["code"] = cc(LOINC, "18474-7")
    her2["valueCodeableConcept"] = cc(LOINC, "LA9633-4")
    res = result(tmp_path, bundle, fast)
    assert values(res.record, "her2Status") == {("iri", str(GK.HER2_Amplified))}
    assert "gk:Alert_HER2Amplified" in [a["id"] for a in res.alerts]


# ------------------------------------------------------------------ age, procedures
def test_age_from_birthdate_at_the_as_of_date(tmp_path):
    bundle = ex01()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"].get("id") != "EX01-left-ras-wt-obs2"]  # no age obs
    entry(bundle, "EX01-left-ras-wt")["birthDate"] = "1960-06-15"
    record = read(tmp_path, bundle)
    as_of = str(record.values(str(GK.asOf))[0])
    expected = int(as_of[:4]) - 1960 - ((int(as_of[5:7]), int(as_of[8:10])) < (6, 15))
    assert values(record, "age") == {("num", expected)}
    assert f"at {as_of}" in messages(record) and "as-of date" in messages(record)


@pytest.mark.parametrize("system,code,status", [(SCT, "4558008", GK.PrimaryResected),
                                                (GKCS, "short-course-rt", GK.PrimaryIrradiated)])
def test_completed_procedure_gives_primary_status(tmp_path, system, code, status):
    bundle = ex01()
    bundle["entry"].append({"resource": {"resourceType": "Procedure", "id": "proc1", "status": "completed",
                                         "subject": {"reference": "Patient/EX01-left-ras-wt"}, "code": cc(system, code)}})
    assert values(read(tmp_path, bundle), "primaryStatus") == {("iri", str(status))}


# ------------------------------------------------------------------ joining and versions
def split_ex01(tmp_path):
    """EX01 as a Patient file plus a folder holding each of its other resources alone."""
    bundle = ex01()
    patient, rest = bundle["entry"][0]["resource"], [e["resource"] for e in bundle["entry"][1:]]
    folder = tmp_path / "parts"
    folder.mkdir()
    write(tmp_path / "patient.json", patient)
    for resource in rest:
        write(folder / f"{resource['id']}.json", resource)
    return [tmp_path / "patient.json", folder]


def test_resources_in_separate_files_join_their_patient(tmp_path):
    records = list(read_patients(split_ex01(tmp_path)))
    assert [r.patient_id for r in records] == ["EX01-left-ras-wt"]
    assert values(records[0], "primarySite") == {("iri", str(GK.Rectum))} and not records[0].ingest_failed


def test_streaming_batch_joins_separate_files_too(tmp_path):
    """The NDJSON batch path read each FHIR input alone, so a patient split over files lost its facts there."""
    import io
    import json as jsonlib

    from guidekg.batch import run_batch

    out = io.StringIO()
    summary = run_batch(split_ex01(tmp_path), out)
    lines = [jsonlib.loads(line) for line in out.getvalue().splitlines()]
    assert [(d["patient"], d["status"]) for d in lines] == [("EX01-left-ras-wt", "ok")] and summary.total == 1
    assert "gk:DoubletPlusAntiEGFR" in lines[0]["treatment_classes"]


def test_stu3_file_is_refused_with_one_message(tmp_path):
    bundle = ex01()
    entry(bundle, "EX01-left-ras-wt-con3")["clinicalStatus"] = "active"  # the STU3 form (a code, not a CodeableConcept)
    records = list(read_fhir(write(tmp_path / "stu3.json", bundle)))
    assert len(records) == 1 and len(records[0].findings) == 1
    assert "STU3" in records[0].findings[0].message and "stu3.json" in records[0].findings[0].message


def test_mii_abdominoperineal_resection_means_primary_resected():
    record = list(read_fhir(ROOT / "tests" / "data" / "fhir-ig" / "mii" / "Bundle-pat-3-excerpt.json"))[0]
    assert values(record, "primaryStatus") == {("iri", str(GK.PrimaryResected))}  # SNOMED 265414003, completed
    assert OUT_OF_SCOPE not in messages(record)  # 447886005 adenocarcinoma of anorectum is a colorectal primary


def test_synthea_overlapping_colon_code_is_a_colorectal_primary(tmp_path):
    bundle = ex01()
    entry(bundle, "EX01-left-ras-wt-con3")["code"] = cc(SCT, "109838007")  # as Synthea R4 writes it
    entry(bundle, "EX01-left-ras-wt-con3")["bodySite"] = [cc(SCT, "34402009")]
    record = read(tmp_path, bundle)
    assert values(record, "primarySite") == {("iri", str(GK.Rectum))} and OUT_OF_SCOPE not in messages(record)


def test_dstu2_file_is_refused_naming_the_version(tmp_path):
    bundle = ex01()
    condition = entry(bundle, "EX01-left-ras-wt-con3")
    condition["patient"] = condition.pop("subject")  # the DSTU2 element name
    records = list(read_fhir(write(tmp_path / "dstu2.json", bundle)))
    assert len(records) == 1 and "DSTU2" in records[0].findings[0].message


def test_kras_absent_over_exon_2_only_is_exon2_wildtype_only(tmp_path):
    bundle = ex01()
    entry(bundle, "EX01-left-ras-wt-obs11")["component"].append(
        {"code": cc(LOINC, "47999-8"), "valueString": "Exon 2"})  # the DNA region the result covers
    assert values(read(tmp_path, bundle), "krasStatus") == {("iri", str(GK.KRAS_Exon2WildtypeOnly))}


def test_unmapped_ecog_looking_observation_is_a_warning(tmp_path):
    bundle = ex01()
    obs = entry(bundle, "EX01-left-ras-wt-obs15")
    obs["code"] = {"coding": [{"system": LOINC, "code": "89262-0", "display": "Physical performance [ECOG]"}]}  # MII coding
    record = read(tmp_path, bundle)
    warned = [f for f in record.findings if "looks relevant" in f.message]
    assert warned and "Observation/EX01-left-ras-wt-obs15" in warned[0].message


def test_a_broken_file_among_several_does_not_drop_the_others(tmp_path):
    good = write(tmp_path / "good.json", ex01())
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Bundle", "entry": [', encoding="utf-8")
    records = list(read_patients([good, bad]))
    assert [r.patient_id for r in records][0] == "EX01-left-ras-wt" and not records[0].ingest_failed
    assert len(records) == 2 and "bad.json" in records[1].findings[0].message
