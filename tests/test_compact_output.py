"""Compact NDJSON and Parquet (issue 16): small rows + a dictionary rebuild the full form exactly.

Regression for "every NDJSON line is ~12 KB because each patient repeats the text and
evidence of its recommendations". The expectation is the full NDJSON the project already
writes (independent of the compact code), compared object for object after expansion.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from guidekg.batch import run_batch
from guidekg.cli import main
from guidekg.export.compact import dictionary_path, expand_row, new_dictionary, read_dictionary

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "patients.csv"


def _full(paths, **options) -> list[dict]:
    out = io.StringIO()
    run_batch(paths, out, **options)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _compact(paths, **options) -> tuple[list[dict], dict]:
    out, dictionary = io.StringIO(), new_dictionary()
    run_batch(paths, out, dictionary=dictionary, **options)
    return [json.loads(line) for line in out.getvalue().splitlines()], dictionary


def _bad_sheet(tmp_path: Path) -> Path:
    lines = EXAMPLES.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:6]
    broken = rows[0].split(",")
    broken[0], broken[18] = "BAD-ECOG", "7"  # ecog out of range: invalid, with a finding
    duplicate = rows[1]  # the same patient id twice: the second is invalid
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join([header, *rows, ",".join(broken), duplicate, "unclosed,\"quote"]) + "\n", encoding="utf-8")
    return path


def test_compact_rows_and_dictionary_rebuild_the_full_form_exactly():
    full = _full([EXAMPLES], chunk_size=5)
    rows, dictionary = _compact([EXAMPLES], chunk_size=5)
    assert [expand_row(row, dictionary) for row in rows] == full
    assert len(rows) == len(full) == len(EXAMPLES.read_text(encoding="utf-8").splitlines()) - 1
    assert all(isinstance(r, str) for row in rows for r in row["recommendations"])  # nothing kept whole here
    compact_bytes = sum(len(json.dumps(r)) for r in rows)
    assert compact_bytes * 4 < sum(len(json.dumps(r)) for r in full)


def test_every_input_patient_appears_invalid_ones_with_their_findings(tmp_path):
    sheet = _bad_sheet(tmp_path)
    full = _full([sheet])
    rows, dictionary = _compact([sheet], chunk_size=2)
    assert [expand_row(row, dictionary) for row in rows] == full
    assert len(rows) == 8
    invalid = [r for r in rows if r["status"] == "invalid"]
    assert {r["patient"] for r in invalid} >= {"BAD-ECOG"} and len(invalid) == 3
    assert all(r["validation"] for r in invalid)


def test_workers_give_the_same_compact_rows(tmp_path):
    from guidekg.synthetic import write_cohort

    cohort = write_cohort(tmp_path / "c.csv", 600, seed=5)
    one = _compact([cohort], chunk_size=100)
    two = _compact([cohort], chunk_size=100, workers=2)
    assert one[0] == two[0]
    assert [expand_row(r, one[1]) for r in one[0]] == [expand_row(r, two[1]) for r in two[0]] == _full([cohort])


def test_cli_compact_ndjson_and_parquet_files(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    from guidekg.export.parquet import read_rows

    sheet = _bad_sheet(tmp_path)
    full = _full([sheet])
    ndjson, parquet = tmp_path / "out.ndjson", tmp_path / "out.parquet"
    assert main(["recommend", str(sheet), "--format", "ndjson", "--compact", "--out", str(ndjson)]) == 1
    assert main(["recommend", str(sheet), "--format", "parquet", "--out", str(parquet)]) == 1
    for rows, dictionary in (([json.loads(x) for x in ndjson.read_text().splitlines()], dictionary_path(str(ndjson))),
                             (read_rows(str(parquet)), dictionary_path(str(parquet)))):
        assert [expand_row(r, read_dictionary(dictionary)) for r in rows] == full
    import pyarrow.parquet as pq

    table = pq.read_table(parquet)
    assert table.column("patient").to_pylist() == [r["patient"] for r in full]
    assert table.column("status").to_pylist() == [r["status"] for r in full]
    assert table.column("plan").to_pylist()[0] == [{k: p[k] for k in ("action", "from", "verdict", "rule")} for p in full[0]["plan"]]


def test_compact_needs_an_output_file(capsys):
    assert main(["recommend", str(EXAMPLES), "--format", "ndjson", "--compact"]) == 2
    assert "--out" in capsys.readouterr().err


def test_an_evidence_key_is_remembered_only_for_the_same_content():
    from guidekg.export import compact

    first = [{"id": "gk:Ref_A", "citation": "A", "year": 2020}, {"id": "gk:Ref_B", "citation": "B", "year": 2021}]
    key = compact._evidence_key(first)
    assert key == compact._content_key(first) == compact._evidence_key([dict(e) for e in first])
    edited = [dict(first[0], citation="A, corrected"), first[1]]  # the same ids, other content
    assert compact._evidence_key(edited) == compact._content_key(edited) != key
    assert compact._evidence_key([{"no id": 1}]) == compact._content_key([{"no id": 1}])
