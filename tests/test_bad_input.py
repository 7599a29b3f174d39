"""Bad input: every case gets an error naming file, line/resource and field; no patient is dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guidekg.cli import main
from guidekg.ingest import InputError, read_patients
from guidekg.recommend import recommend

BAD = Path(__file__).parent / "data" / "bad"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name, needle", [
    ("empty.csv", "empty"),
    ("header_only.csv", "no patient rows"),
    ("unknown_column.csv", "unknown column 'kras_status'"),
    ("malformed.ttl", "cannot parse as turtle"),
    ("no_patient.ttl", "no gk:Patient"),
    ("missing.csv", "file not found"),
])
def test_unreadable_files_exit_2_naming_the_file(capsys, name, needle):
    code, out, err = _run(capsys, "recommend", str(BAD / name))
    assert code == 2
    assert str(BAD / name) in err and needle in err
    assert out == ""


def test_unknown_column_names_line_1():
    with pytest.raises(InputError) as info:
        list(read_patients([BAD / "unknown_column.csv"]))
    assert info.value.line == 1 and "known columns" in str(info.value)


@pytest.mark.parametrize("name, bad_id, field, needle", [
    ("unknown_value.csv", "B2", "kras", "unknown value 'purple'"),
    ("bad_date.csv", "B1", "last_bevacizumab_date", "is not a date"),
    ("unknown_action.csv", "B1", "planned_actions", "unknown value 'chocolate'"),
])
def test_bad_cell_makes_only_that_patient_invalid(name, bad_id, field, needle):
    results = recommend([BAD / name])
    by_id = {r.record.patient_id: r for r in results}
    bad = by_id[bad_id]
    assert bad.status == "invalid" and not bad.recommendations
    finding = next(f for f in bad.validation if f.path == field)
    assert needle in finding.message and f"{BAD / name}:" in finding.source
    assert all(r.status != "invalid" for r in results if r.record.patient_id != bad_id)


def test_ecog_7_is_invalid_with_the_range_message(capsys):
    code, out, _ = _run(capsys, "recommend", str(BAD / "ecog7.csv"), "--format", "json")
    data = json.loads(out)
    assert [d["patient"] for d in data] == ["B1", "B2"]
    assert data[0]["status"] == "ok" and data[1]["status"] == "invalid"
    assert any("ECOG" in v["message"] and "0 to 4" in v["message"] for v in data[1]["validation"])
    assert data[1]["recommendations"] == [] and code == 1


def test_duplicate_patient_id_keeps_both_rows_and_flags_the_second():
    results = recommend([BAD / "duplicate.csv"])
    assert [r.status for r in results] == ["ok", "invalid"]
    assert "duplicate patient id 'B1'" in results[1].validation[0].message
    assert ":2" in results[1].validation[0].message  # names where it was first seen


def test_ragged_row_is_invalid_and_named():
    results = recommend([BAD / "ragged.csv"])
    assert [r.status for r in results] == ["invalid", "ok"]
    assert "13 fields but the header has 12" in results[0].validation[0].message


def test_contradictory_patient_isolated_from_its_neighbour():
    results = recommend([BAD / "two_msi.ttl"])
    by_id = {r.record.patient_id: r for r in results}
    assert by_id["T1"].status == "contradictory"
    assert any("msiStatus" in c and "gk:MSS" in c and "gk:MSI_High" in c for c in by_id["T1"].conflicts)
    assert by_id["T2"].status == "ok" and "https://w3id.org/guidekg/ontology#TripletPlusBevacizumab" in by_id["T2"].treatment_classes


@pytest.mark.parametrize("streaming", [False, True])
def test_unterminated_quote_loses_only_its_own_line(streaming, tmp_path):
    """Regression: read as one CSV stream, an open quote swallowed every following row up to
    the next quote character into one bad row (647 patients vanished from a 100,000-row run)."""
    import io

    from guidekg.batch import run_batch

    source = BAD / "unterminated_quote.csv"
    if streaming:
        out = io.StringIO()
        summary = run_batch([source], out, workers=1)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        got = [(line["patient"], line["status"], line["validation"][0]["message"] if line["validation"] else "")
               for line in lines]
        assert summary.total == 3
    else:
        got = [(r.record.patient_id, r.status, r.validation[0].message if r.validation else "") for r in recommend([source])]
    assert [(p, s) for p, s, _ in got] == [("line-2", "invalid"), ("B2", "ok"), ("B3", "ok")]
    assert "quoted field is not closed" in got[0][2]


def test_row_with_too_few_fields_is_invalid_and_named(tmp_path):
    """A short row (a field lost) must not be read as valid with the tail columns silently empty."""
    header = (BAD / "ragged.csv").read_text(encoding="utf-8").splitlines()[0]
    path = tmp_path / "short.csv"
    path.write_text(header + "\nS1,60,rectum,bilobar,non-resectable,MSS,wildtype,wildtype,wildtype,1,pre-treatment\n"
                    "S2,61,rectum,bilobar,non-resectable,MSS,wildtype,wildtype,wildtype,1,pre-treatment,no\n", encoding="utf-8")
    results = recommend([path])
    assert [r.status for r in results] == ["invalid", "ok"]
    assert "11 fields but the header has 12" in results[0].validation[0].message
    assert ":2" in str(results[0].record.source) or "line 2" in results[0].validation[0].message or ":2" in results[0].validation[0].message
