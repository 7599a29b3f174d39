"""POST /recommend: the same answers as the library, from CSV, Turtle and FHIR; bad input is 4xx."""

from __future__ import annotations

import json

import httpx
import pytest

from guidekg.ingest import read_patients
from guidekg.recommend import recommend
from guidekg.server.limits import ServerConfig
from serving import ROOT, live_server, sample_csv

BAD = ROOT / "tests" / "data" / "bad"


@pytest.fixture(scope="module")
def base():
    with live_server(ServerConfig(workers=2)) as url:
        yield url


def summary(items: list[dict]) -> list[tuple]:
    return [(i["patient"], i["status"], tuple(i["treatment_classes"]), tuple(r["id"] for r in i["recommendations"]),
             tuple(a["id"] for a in i["alerts"])) for i in items]


def post(base: str, body: bytes, media: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{base}/recommend", content=body, headers={"Content-Type": media, **headers}, timeout=120)


def test_csv_answer_matches_the_library(base, tmp_path):
    sheet = sample_csv(tmp_path, rows=4)
    response = post(base, sheet.read_bytes(), "text/csv")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert summary(answer) == summary([r.as_json() for r in recommend([sheet])])
    assert str(tmp_path) not in response.text


@pytest.mark.slow
def test_turtle_input(base):
    path = ROOT / "examples" / "patients.ttl"
    response = post(base, path.read_bytes(), "text/turtle")
    assert response.status_code == 200, response.text
    assert summary(response.json()) == summary([r.as_json() for r in recommend([path])])


def test_fhir_bundle_input(base, tmp_path):
    pytest.importorskip("fhir.resources")
    from guidekg.export.fhir_patient import patient_bundle

    record = next(read_patients([sample_csv(tmp_path, rows=1)]))
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(patient_bundle(record)), encoding="utf-8")
    response = post(base, bundle.read_bytes(), "application/fhir+json")
    expected = [r.as_json() for r in recommend([bundle])]
    assert response.status_code == (422 if all(e["status"] == "invalid" for e in expected) else 200), response.text
    answer = response.json()
    assert summary(answer if response.status_code == 200 else answer["results"]) == summary(expected)


def test_explain_adds_the_reasons(base, tmp_path):
    response = httpx.post(f"{base}/recommend", params={"explain": "true"}, content=sample_csv(tmp_path, rows=1).read_bytes(),
                          headers={"Content-Type": "text/csv"}, timeout=120)
    assert response.status_code == 200 and response.json()[0]["explanation"]


@pytest.mark.parametrize("name", ["malformed.ttl", "unknown_column.csv", "empty.csv"])
def test_unreadable_input_is_422_with_the_problem(base, name):
    path = BAD / name
    response = post(base, path.read_bytes(), "text/turtle" if name.endswith(".ttl") else "text/csv")
    assert response.status_code == 422, response.text
    finding = response.json()["findings"][0]
    assert finding["file"].startswith("request") and finding["problem"]


def test_invalid_patients_get_their_findings(base):
    lines = (BAD / "ecog7.csv").read_text(encoding="utf-8").splitlines()  # B1 is fine, B2 has ECOG 7
    mixed = post(base, (BAD / "ecog7.csv").read_bytes(), "text/csv")
    assert mixed.status_code == 200
    assert [r["status"] for r in mixed.json()] == ["ok", "invalid"]
    only_bad = post(base, "\n".join([lines[0], lines[2]]).encode("utf-8"), "text/csv")
    assert only_bad.status_code == 422
    (result,) = only_bad.json()["results"]
    assert result["status"] == "invalid" and "ECOG" in result["validation"][0]["message"]


def test_unsupported_media_type_is_415(base):
    assert post(base, b"x", "application/pdf").status_code == 415


def test_fhir_output_when_asked(base, tmp_path):
    body = sample_csv(tmp_path, rows=1).read_bytes()
    response = post(base, body, "text/csv", Accept="application/fhir+json")
    try:
        import guidekg.export.fhir  # noqa: F401
    except ImportError:
        assert response.status_code == 406
        return
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/fhir+json")
    assert json.loads(response.text)
