"""``--engine spark`` and ``guidekg.spark.assess``: the same answers as the local engine, nothing dropped.

Runs an embedded Spark (local[*], Java 17+); skipped when pyspark or Java is missing. Slow
(Spark's JVM start-up): run with ``-m slow``. The expectation is the local engine's output
on the same file, compared byte for byte.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from guidekg.cli import main
from guidekg.synthetic import write_cohort

pytestmark = [pytest.mark.slow, pytest.mark.spark,
              pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17+")]
pyspark = pytest.importorskip("pyspark")

BAD_LINE = 1500  # 0-based row index -> file line 1502


@pytest.fixture(scope="module")
def spark():
    from guidekg.spark import session

    active = session("local[2]")
    active.sparkContext.setLogLevel("ERROR")
    yield active
    active.stop()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("spark")
    path = write_cohort(folder / "cohort.csv", 3000, seed=9, bad_lines={BAD_LINE: 'SYNBAD,2026-11-01,"unterminated'})
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_cli_spark_engine_equals_local_byte_for_byte(spark, cohort, tmp_path):
    local, remote = tmp_path / "local.ndjson", tmp_path / "spark.ndjson"
    assert main(["recommend", str(cohort), "--format", "ndjson", "--out", str(local)]) == 1
    assert main(["recommend", str(cohort), "--format", "ndjson", "--engine", "spark", "--chunk-size", "400",
                 "--out", str(remote)]) == 1
    assert _lines(remote) == _lines(local)
    rows = [json.loads(line) for line in _lines(remote)]
    assert len(rows) == 3000  # every input patient, the malformed row included
    [bad] = [r for r in rows if r["status"] == "invalid" and r["validation"][0].get("source", "").endswith(f":{BAD_LINE + 2}")]
    assert bad["patient"] == f"line-{BAD_LINE + 2}"


def test_cli_spark_compact_and_dictionary_equal_local(spark, cohort, tmp_path):
    for engine in ("local", "spark"):
        assert main(["recommend", str(cohort), "--format", "ndjson", "--compact", "--engine", engine, "--chunk-size", "700",
                     "--out", str(tmp_path / f"{engine}.ndjson")]) == 1
    assert _lines(tmp_path / "spark.ndjson") == _lines(tmp_path / "local.ndjson")
    assert (tmp_path / "spark.dict.json").read_text() == (tmp_path / "local.dict.json").read_text()


def test_assess_dataframe_equals_local_with_a_duplicate_id(spark, tmp_path):
    from guidekg.spark import assess

    path = write_cohort(tmp_path / "clean.csv", 800, seed=4)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows.append(list(rows[5]))  # the same patient again, last: invalid locally
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    local = tmp_path / "local.ndjson"
    assert main(["recommend", str(path), "--format", "ndjson", "--out", str(local)]) == 1
    frame = spark.read.csv(str(path), header=True, inferSchema=False)
    result = assess(frame, name=str(path)).orderBy("line").collect()
    assert [r["result"] for r in result] == _lines(local)
    assert result[-1]["status"] == "invalid" and result[-1]["line"] == len(rows)


def test_spark_refuses_the_jvm_reasoner(cohort, tmp_path, capsys):
    assert main(["recommend", str(cohort), "--format", "ndjson", "--engine", "spark", "--reasoner", "hermit",
                 "--out", str(tmp_path / "x.ndjson")]) == 2
    assert "compiled engine" in capsys.readouterr().err


def test_fhir_bundles_through_spark_equal_local(spark, tmp_path):
    """FHIR inputs are read into records on the driver; executors assess them as locally."""
    examples = Path(__file__).resolve().parents[1] / "examples" / "fhir"
    for engine in ("local", "spark"):
        main(["recommend", str(examples), "--format", "ndjson", "--engine", engine, "--out", str(tmp_path / f"{engine}.ndjson")])
    assert _lines(tmp_path / "spark.ndjson") == _lines(tmp_path / "local.ndjson") != []
