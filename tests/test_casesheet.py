"""Case sheets as people write them (ARCHITECTURE 4.2, issue 12 part 6, issue 11 part 5): the project's
first example row with one cell changed at a time."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from guidekg.ingest.casesheet import read_csv
from guidekg.model import literal_key
from guidekg.namespaces import GK
from guidekg.recommend import assess

ROOT = Path(__file__).resolve().parents[1]
ROWS = list(csv.DictReader((ROOT / "examples" / "patients.csv").open(encoding="utf-8", newline="")))


def sheet(tmp_path: Path, **changes: str):
    row = dict(ROWS[0], **changes)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(ROWS[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    path = tmp_path / "sheet.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    records = list(read_csv(path))
    assert len(records) == 1
    return records[0]


def values(record, prop: str) -> set:
    return {literal_key(v) for v in record.values(str(GK[prop]))}


@pytest.mark.parametrize("column,written,prop,value", [
    ("sex", "M", "sex", GK.Male), ("sex", "f", "sex", GK.Female),
    ("kras", "wt", "krasStatus", GK.KRAS_Wildtype), ("kras", "Wild-Type", "krasStatus", GK.KRAS_Wildtype),
    ("kras", "mutated", "krasStatus", GK.KRAS_Mutant), ("nras", "mutated", "nrasStatus", GK.NRAS_Mutant),
    ("msi", "MSI-high", "msiStatus", GK.MSI_High), ("her2", "positive", "her2Status", GK.HER2_Amplified),
    ("her2", "negative", "her2Status", GK.HER2_NotAmplified), ("braf", "wt", "brafStatus", GK.BRAF_Wildtype),
])
def test_common_spellings_are_normalised_with_a_note(tmp_path, column, written, prop, value):
    record = sheet(tmp_path, **{column: written})
    assert values(record, prop) == {("iri", str(value))}
    assert not record.ingest_failed
    notes = [f for f in record.findings if f.severity == "info" and f.path == column]
    assert notes and repr(written) in notes[0].message


def test_braf_mutated_is_not_read_as_any_braf_status(tmp_path):
    record = sheet(tmp_path, braf="mutated")  # V600E or not is the question: never guessed
    assert record.ingest_failed and "braf" in record.findings[0].message


def test_bad_sex_is_a_warning_not_invalid(tmp_path, fast):
    record = sheet(tmp_path, sex="X")
    assert not record.ingest_failed
    warning = [f for f in record.findings if f.path == "sex"]
    assert warning and warning[0].severity == "warning" and "'X'" in warning[0].message
    assert assess([record], reasoner=fast)[0].status == "ok"


def test_bad_value_in_a_field_rules_read_is_still_invalid(tmp_path):
    assert sheet(tmp_path, kras="maybe").ingest_failed


@pytest.mark.parametrize("written", ["FOLFOX + panitumumab", "FOLFOX+panitumumab", "folfox +Panitumumab"])
def test_regimen_written_with_plus_is_read_as_its_parts(tmp_path, written):
    record = sheet(tmp_path, planned_actions=written, current_regimen=written)
    want = {("iri", str(GK.FOLFOX)), ("iri", str(GK.Panitumumab))}
    assert values(record, "plannedAction") == want and values(record, "currentRegimen") == want
    assert not record.ingest_failed


def test_unknown_part_of_a_plus_regimen_names_it(tmp_path):
    record = sheet(tmp_path, planned_actions="FOLFOX + unobtainium")
    assert record.ingest_failed and "'unobtainium'" in record.findings[0].message


def test_yes_no_fields_accept_y_and_n(tmp_path):
    record = sheet(tmp_path, primary_symptomatic="Y")
    assert values(record, "primarySymptomatic") == {("bool", True)}
