"""``--engine spark`` and ``guidekg.spark.assess``: the same answers as the local engine, nothing dropped.

Runs an embedded Spark (local[2], Java 17+; one session for the module); skipped when
pyspark or Java is missing. Slow (Spark's JVM start-up): run with ``-m slow``. The
expectation is the local engine's output on the same input (CSV, Parquet, FHIR Bulk NDJSON),
compared byte for byte; recommendations as NDJSON, the concordance audit as its CSV and HTML.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from guidekg.cli import main
from guidekg.synthetic import write_cohort
from parquet_helpers import write_pair

pytestmark = [pytest.mark.slow, pytest.mark.spark,
              pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17+")]
pyspark = pytest.importorskip("pyspark")

BAD_LINE = 1500  # 0-based row index -> file line 1502
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


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
    examples = EXAMPLES / "fhir"
    for engine in ("local", "spark"):
        main(["recommend", str(examples), "--format", "ndjson", "--engine", engine, "--out", str(tmp_path / f"{engine}.ndjson")])
    assert _lines(tmp_path / "spark.ndjson") == _lines(tmp_path / "local.ndjson") != []


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    """cohort.csv and a typed cohort.parquet, the same 2,000 rows with the same planted bad values
    (tests/parquet_helpers.py: rows 12, 78, 91, 131 invalid; row 41 a warning)."""
    return write_pair(tmp_path_factory.mktemp("pair"), 2000, seed=11, row_group_size=300)


def _invalid(path: Path) -> dict[str, list[str]]:
    """patient -> the sources of its findings, for every invalid line."""
    rows = [json.loads(line) for line in _lines(path)]
    return {r["patient"]: [v["source"] for v in r["validation"]] for r in rows if r["status"] == "invalid"}


def test_spark_gives_the_local_invalid_lines_for_csv_and_parquet(spark, pair, tmp_path):
    """Bad rows in a Spark run come out invalid with their line (CSV) or row (Parquet), exactly as
    locally, and nothing is dropped (issue 16, Done when)."""
    sheet, parquet = pair
    for path in (sheet, parquet):
        local, remote = tmp_path / f"{path.suffix[1:]}-local.ndjson", tmp_path / f"{path.suffix[1:]}-spark.ndjson"
        assert main(["recommend", str(path), "--format", "ndjson", "--out", str(local)]) == 1
        assert main(["recommend", str(path), "--format", "ndjson", "--engine", "spark", "--chunk-size", "300",
                     "--out", str(remote)]) == 1
        assert _lines(remote) == _lines(local)
        assert len(_lines(remote)) == 2000
    at = f"{parquet} (row {{}})"
    assert _invalid(tmp_path / "parquet-spark.ndjson") == {
        "SYN00000011": [at.format(12)], "row-78": [at.format(78)], "SYN00000003": [at.format(91)], "SYN00000130": [at.format(131)]}
    assert _invalid(tmp_path / "csv-spark.ndjson") == {
        "SYN00000011": [f"{sheet}:13"], "line-79": [f"{sheet}:79"], "SYN00000003": [f"{sheet}:92"], "SYN00000130": [f"{sheet}:132"]}


def test_spark_parquet_output_of_parquet_input_equals_local(spark, pair, tmp_path):
    _, parquet = pair
    pq = pytest.importorskip("pyarrow.parquet")
    for engine in ("local", "spark"):
        assert main(["recommend", str(parquet), "--format", "parquet", "--engine", engine, "--chunk-size", "500",
                     "--out", str(tmp_path / f"{engine}.parquet")]) == 1
    local, remote = pq.read_table(tmp_path / "local.parquet"), pq.read_table(tmp_path / "spark.parquet")
    assert remote.num_rows == 2000 and remote.equals(local)
    assert (tmp_path / "spark.dict.json").read_bytes() == (tmp_path / "local.dict.json").read_bytes()


def _audit(inputs: list[Path], out: Path, *extra: str) -> tuple[str, str]:
    assert main(["audit", *map(str, inputs), "--out", str(out), *extra]) == 0
    return (out / "audit.csv").read_text(encoding="utf-8"), (out / "audit.html").read_text(encoding="utf-8")


def test_spark_audit_equals_local_audit_with_groups(spark, cohort, tmp_path):
    """3,000 patients with a malformed row, grouped by centre: the same CSV and HTML reports."""
    groups = tmp_path / "centres.csv"
    with cohort.open(encoding="utf-8") as handle:
        ids = [line.split(",", 1)[0] for line in handle][1:]
    groups.write_text("patient_id,centre\n" + "".join(f"{p},{'AB'[i % 2]}\n" for i, p in enumerate(ids) if i % 7), encoding="utf-8")
    options = ("--groups", str(groups), "--by", "centre", "--chunk-size", "400")
    local = _audit([cohort], tmp_path / "local", *options)
    remote = _audit([cohort], tmp_path / "spark", *options, "--engine", "spark")
    assert remote == local
    with (tmp_path / "spark" / "audit.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert {r["group"] for r in table} == {"all", "A", "B", "(unlisted)"}
    assert "<td>all</td><td>3000</td>" in remote[1]  # every patient counted, the malformed row included
    assert main(["audit", str(cohort), "--engine", "spark", "--reasoner", "hermit", "--out", str(tmp_path / "x")]) == 2


def test_spark_audit_over_parquet_and_fhir_bulk_equals_local(spark, pair, tmp_path):
    _, parquet = pair
    for name, inputs in (("parquet", [parquet]), ("bulk", [EXAMPLES / "fhir" / "bulk"])):
        local = _audit(inputs, tmp_path / f"{name}-local", "--chunk-size", "500")
        assert _audit(inputs, tmp_path / f"{name}-spark", "--chunk-size", "500", "--engine", "spark") == local
    # patients, ok, invalid: all 2,000 rows counted, the four bad ones invalid
    assert re.search(r"<td>all</td><td>2000</td><td>\d+</td><td>4</td>", (tmp_path / "parquet-spark" / "audit.html").read_text())


def test_fhir_bulk_ndjson_through_spark_equals_local(spark, tmp_path):
    """A Bulk Data export (one NDJSON file per resource type) with a broken line: the same lines,
    the broken one invalid with its file and line."""
    bulk = tmp_path / "bulk"
    shutil.copytree(EXAMPLES / "fhir" / "bulk", bulk)
    observations = bulk / "Observation.ndjson"
    good = observations.read_text(encoding="utf-8").splitlines()
    observations.write_text("\n".join([*good[:3], '{"resourceType": "Observation", "id": ', *good[3:]]) + "\n", encoding="utf-8")
    files = sorted(bulk.glob("*.ndjson"))
    for name, inputs in (("folder", [bulk]), ("files", files)):
        for engine in ("local", "spark"):
            main(["recommend", *map(str, inputs), "--format", "ndjson", "--engine", engine, "--chunk-size", "5",
                  "--out", str(tmp_path / f"{name}-{engine}.ndjson")])
        assert _lines(tmp_path / f"{name}-spark.ndjson") == _lines(tmp_path / f"{name}-local.ndjson")
    rows = [json.loads(line) for line in _lines(tmp_path / "folder-spark.ndjson")]
    assert len(rows) == 25  # the 24 example patients and the broken line
    [broken] = [r for r in rows if r["status"] == "invalid" and str(observations) in r["patient"]]
    assert broken["patient"].startswith(f"{observations}:4")


def test_assess_reads_typed_columns_as_the_parquet_reader_does(spark, tmp_path):
    """guidekg.spark.assess over spark.read.parquet (typed columns) gives the local Parquet answers."""
    from guidekg.spark import assess

    _, parquet = write_pair(tmp_path, 400, seed=12)
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(parquet)  # an all-empty column: its type cannot be inferred from the values
    pq.write_table(table.set_column(table.schema.get_field_index("her2"), "her2", pa.nulls(table.num_rows, pa.string())), parquet)
    local = tmp_path / "local.ndjson"
    main(["recommend", str(parquet), "--format", "ndjson", "--out", str(local)])
    frame = spark.read.parquet(str(parquet))
    got = assess(frame, name=str(parquet)).orderBy("line").collect()
    assert len(got) == 400

    def essence(result: dict) -> tuple:
        return result["status"], result["treatment_classes"], [r["id"] for r in result["recommendations"]], result["plan"]

    assert [essence(json.loads(r["result"])) for r in got] == [essence(json.loads(line)) for line in _lines(local)]


def test_spark_submit_runs_the_cli_on_the_submitted_master(tmp_path):
    """guidekg.spark_submit under spark-submit takes spark-submit's master (the CLI once forced
    local[*], which would have run a cluster job on the driver alone) and answers as locally."""
    from guidekg import spark_submit

    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    events, out, local = tmp_path / "events", tmp_path / "submit.ndjson", tmp_path / "local.ndjson"
    events.mkdir()
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    command = [str(submit), "--master", "local[1]", "--conf", "spark.eventLog.enabled=true",
               "--conf", "spark.eventLog.compress=false", "--conf", "spark.eventLog.rolling.enabled=false",
               "--conf", f"spark.eventLog.dir={events.as_uri()}", spark_submit.__file__,
               "recommend", str(EXAMPLES / "patients.csv"), "--format", "ndjson", "--engine", "spark", "--out", str(out)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    expected_code = main(["recommend", str(EXAMPLES / "patients.csv"), "--format", "ndjson", "--out", str(local)])
    assert run.returncode == expected_code, run.stderr[-3000:]
    assert _lines(out) == _lines(local) != []
    log = "".join(p.read_text(encoding="utf-8") for p in events.rglob("*") if p.is_file())
    assert '"spark.master":"local[1]"' in log


def test_audit_of_a_dataframe_on_the_executors_equals_the_local_audit(spark, tmp_path):
    """guidekg.spark.audit: counted per partition on the executors, grouped by a DataFrame
    column; the same report as guidekg audit with the same groups from a --groups file."""
    from guidekg.audit import read_groups, run_audit
    from guidekg.audit.report import render_csv
    from guidekg.spark import audit
    from guidekg.synthetic import COLUMNS, synthetic_rows

    rows = [dict(row) for row in synthetic_rows(600, seed=21)]
    rows.append(dict(rows[5]))  # a duplicate id: invalid, in its first row's centre
    rows[40]["ecog"] = "x"  # a bad value: invalid
    centres = ["" if i % 9 == 0 else "AB"[i % 2] for i in range(len(rows))]
    centres[-1] = centres[5]
    sheet, spark_sheet, groups = tmp_path / "cohort.csv", tmp_path / "with-centre.csv", tmp_path / "centres.csv"
    for path, extra in ((sheet, ()), (spark_sheet, ("centre",))):
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, [*COLUMNS, *extra], lineterminator="\n")
            writer.writeheader()
            writer.writerows(dict(row, **({"centre": c} if extra else {})) for row, c in zip(rows, centres, strict=True))
    groups.write_text("patient_id,centre\n" + "".join(f"{r['patient_id']},{c}\n" for r, c in zip(rows[:-1], centres, strict=False) if c),
                      encoding="utf-8")
    local = run_audit([sheet], groups=read_groups(groups, "centre"), by="centre")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "40000")  # several partitions, in file order
    try:
        frame = spark.read.csv(str(spark_sheet), header=True, inferSchema=False)
        assert frame.rdd.getNumPartitions() > 1
        remote = audit(frame, name=str(sheet), by="centre")
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert remote.tally["patients"][("all",)]["invalid"] == 2 and remote.tally["patients"][("all",)]["patients"] == 601
    assert render_csv(remote) == render_csv(local)
