"""Parquet case sheets (``guidekg recommend|audit cohort.parquet``): typed values read as the
CSV cells they stand for, bad rows 'invalid' with their file and row, nothing dropped, and a
wrong column a clear error naming the file and the column.

The expectation for a Parquet file is the CSV engine's output on the same rows
(tests/parquet_helpers.py types them with its own conversion), and the bad rows' findings
are written out by hand.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from guidekg.cli import main  # noqa: E402
from guidekg.ingest import InputError, read_patients  # noqa: E402
from guidekg.ingest.parquet import cell_text, read_rows  # noqa: E402
from parquet_helpers import csv_to_parquet_names, write_pair  # noqa: E402

COUNT = 300


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    return write_pair(tmp_path_factory.mktemp("parquet"), COUNT, seed=5, row_group_size=120)


def _ndjson(path: Path, out: Path, *extra: str) -> list[str]:
    main(["recommend", str(path), "--format", "ndjson", "--out", str(out), *extra])
    return out.read_text(encoding="utf-8").splitlines()


def test_typed_parquet_gives_the_csv_answers_row_for_row(pair, tmp_path):
    sheet, parquet = pair
    expected = [csv_to_parquet_names(line, sheet, parquet) for line in _ndjson(sheet, tmp_path / "c.ndjson")]
    got = _ndjson(parquet, tmp_path / "p.ndjson")
    assert len(got) == COUNT  # one line per row, bad rows included
    assert got == expected
    assert _ndjson(parquet, tmp_path / "w.ndjson", "--workers", "2", "--chunk-size", "50") == got


def test_bad_rows_are_invalid_with_file_and_row(pair, tmp_path):
    _, parquet = pair
    rows = [json.loads(line) for line in _ndjson(parquet, tmp_path / "p.ndjson")]
    invalid = {r["patient"]: r["validation"] for r in rows if r["status"] == "invalid"}
    where = f"{parquet} (row {{}})"
    assert invalid == {
        "SYN00000011": [{"path": "ecog", "message": "field 'ecog': '2.5' is not a whole number", "severity": "violation",
                         "source": where.format(12)}],
        "row-78": [{"path": "patient_id", "message": "patient_id is empty", "severity": "violation", "source": where.format(78)}],
        "SYN00000003": [{"path": "patient_id", "severity": "violation", "source": where.format(91),
                         "message": f"duplicate patient id 'SYN00000003' (first seen at {where.format(4)})"}],
        "SYN00000130": [{"path": "months_on_chemo", "message": "field 'months_on_chemo': 'nan' is not a finite number",
                         "severity": "violation", "source": where.format(131)}],
    }
    # 'sex' is read by no rule: a bad value there is a warning on an assessed patient, as in a CSV
    row41 = rows[40]
    assert row41["status"] != "invalid" and {"path": "sex", "severity": "warning", "source": where.format(41),
                                             "message": "field 'sex': unknown value 'femal'; allowed: female, male, other, unknown; "
                                                        "ignored (no rule reads 'sex')"} in row41["validation"]


def test_whole_file_reader_names_rows_as_the_streaming_path(pair, tmp_path):
    """recommend --format json (read_patients) and the NDJSON stream give the same patients."""
    _, parquet = pair
    records = list(read_patients([parquet]))
    assert len(records) == COUNT
    assert [str(r.source) for r in records[:2]] == [f"{parquet} (row 1)", f"{parquet} (row 2)"]
    assert records[90].findings[-1].message == f"duplicate patient id 'SYN00000003' (first seen at {parquet} (row 4))"
    assert records[77].patient_id == "row-78"


def test_audit_of_parquet_equals_audit_of_csv(pair, tmp_path):
    sheet, parquet = pair
    for name, path in (("csv", sheet), ("parquet", parquet)):
        assert main(["audit", str(path), "--out", str(tmp_path / name), "--chunk-size", "70"]) == 0
    audit = (tmp_path / "parquet" / "audit.csv").read_text(encoding="utf-8")
    assert audit == (tmp_path / "csv" / "audit.csv").read_text(encoding="utf-8") and audit.count("\n") > 5


def test_cell_text_of_typed_values():
    assert [cell_text(v, "integer") for v in (None, 3, 3.0, Decimal("2"), Decimal("2.0"), 2.5, True)] == \
        ["", "3", "3", "2", "2", "2.5", "yes"]
    assert [cell_text(v, "decimal") for v in (1.5, 6.0, Decimal("6.0"), 0.1, float("nan"), float("inf"))] == \
        ["1.5", "6.0", "6.0", "0.1", "nan", "inf"]
    assert cell_text(dt.date(2026, 11, 1), "date") == "2026-11-01"
    assert cell_text(dt.datetime(2026, 11, 1), "date") == "2026-11-01"  # pandas' midnight timestamp is a date
    assert cell_text(dt.datetime(2026, 11, 1, 9, 30), "date") == "2026-11-01T09:30:00"  # a time: not a date, reported
    assert cell_text(False, "boolean") == "no" and cell_text(["FOLFOX", None, "bevacizumab"], "action-list") == "FOLFOX;bevacizumab"


def _write(path: Path, columns: dict) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


@pytest.mark.parametrize("columns, problem", [
    ({"patient_id": ["P1"], "centre": ["A"]}, "unknown column 'centre'"),
    ({"age": [70]}, "the file has no 'patient_id' column"),
    ({"patient_id": ["P1"], "age": pa.array([{"years": 70}])}, "column 'age' has type struct<years: int64>"),
    ({"patient_id": pa.array([], pa.string())}, "no patient rows"),
])
def test_a_wrong_column_fails_the_file_naming_file_and_column(tmp_path, capsys, columns, problem):
    path = _write(tmp_path / "cohort.parquet", columns)
    with pytest.raises(InputError) as caught:
        list(read_patients([path]))
    assert str(caught.value).startswith(f"{path}: ") and problem in str(caught.value)
    for command in (["recommend", str(path), "--format", "ndjson"], ["audit", str(path), "--out", str(tmp_path / "a")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert str(path) in err and problem in err


def test_a_file_that_is_not_parquet_is_an_input_error(tmp_path, capsys):
    path = tmp_path / "cohort.parquet"
    path.write_text("patient_id\nP1\n", encoding="utf-8")
    assert main(["recommend", str(path), "--format", "ndjson"]) == 2
    assert f"{path}: not a readable Parquet file" in capsys.readouterr().err


def test_rows_are_read_one_record_batch_at_a_time(tmp_path):
    """Memory stays flat: a 250-row row group comes out in batches of at most 100 rows."""
    path = _write(tmp_path / "one-group.parquet", {"patient_id": [f"P{i}" for i in range(250)]})
    header, batches = read_rows(path, batch_rows=100)
    sizes = [[row for row, _ in batch] for batch in batches]
    assert header == ["patient_id"] and [len(s) for s in sizes] == [100, 100, 50]
    assert sizes[0][0] == 1 and sizes[-1][-1] == 250  # rows numbered from 1 across batches


def test_vectorised_column_texts_equal_cell_text_value_by_value():
    """The reader's fast path (Arrow casts) writes exactly what cell_text writes for each value."""
    from guidekg.ingest.parquet import column_texts

    columns = [
        (pa.array(["a", None, " b ", ""]), "enum"),
        (pa.array(["x", None], pa.large_string()), "enum"),
        (pa.array(["mss", "mss", None, "msi-h"]).dictionary_encode(), "enum"),
        (pa.array([1, None, -3, 2**40], pa.int64()), "integer"),
        (pa.array([1, None, 255], pa.uint8()), "integer"),
        (pa.array([True, None, False]), "boolean"),
        (pa.array([dt.date(2026, 1, 2), None, dt.date(1999, 12, 31)], pa.date32()), "date"),
        (pa.array([dt.date(2026, 1, 2), None], pa.date64()), "date"),
        (pa.array([2.0, None, 0.1, 1e20, float("nan")]), "decimal"),
        (pa.array([2.0, 2.5]), "integer"),
        (pa.array([Decimal("2.50"), None], pa.decimal128(5, 2)), "decimal"),
        (pa.array([dt.datetime(2026, 1, 2), dt.datetime(2026, 1, 2, 3, 4)], pa.timestamp("us")), "date"),
        (pa.array([["FOLFOX", "bevacizumab"], None, []], pa.list_(pa.string())), "action-list"),
        (pa.array([["FOLFOX", None], ["CAPOX"]], pa.list_(pa.string())), "action-list"),
        (pa.array([[1, 2], None], pa.list_(pa.int64())), "enum-list"),
        (pa.array([b"abc", None]), "enum"),
    ]
    for array, kind in columns:
        assert column_texts(array, kind) == [cell_text(v, kind) for v in array.to_pylist()], (array.type, kind)
