"""The population job on Apache Spark (``--engine spark``; ``guidekg.spark.assess`` for notebooks).

Patients are independent, so the unit of work is the local engine's chunk
(:func:`guidekg.batch.chunks`): the driver streams the input exactly as the local engine
does (same CSV and Parquet readers, same line and row numbers, same FHIR staging, same
duplicate-id table, so a malformed row comes out ``invalid`` with its line and nothing is
dropped), and the executors run :func:`guidekg.batch.process_chunk` - the compiled
classifier and compiled shape checks, no JVM reasoner - on waves of chunks; results come
back in input order and are written by the same writers (NDJSON, compact NDJSON, Parquet).
``guidekg audit --engine spark`` sends the same chunks to the audit's counting function and
sums the per-chunk tallies on the driver. The answers are therefore the local engine's,
byte for byte (tests/test_spark.py).

Inputs: CSV and Parquet case sheets (cells travel to the executors as text and are parsed
there), FHIR Bundles and Bulk Data NDJSON (staged on the driver, which joins resources to
their patients, then shipped as records), RDF. For a table already in a cluster store,
:func:`assess` takes a DataFrame and runs wholly on the executors.

Executors need guidekg importable (``pip install guidekg`` on the cluster image, or
``--py-files`` with a wheel) and build their compiled knowledge cache once
(:mod:`guidekg.kcache`, ``GUIDEKG_CACHE``). ``local[*]`` is the embedded default; on a
cluster, give ``--master URL`` or run the CLI through ``spark-submit`` with
:mod:`guidekg.spark_submit` as the application file.

pyspark is optional (``pip install 'guidekg[spark]'``); it is imported only here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

try:
    from pyspark.sql import SparkSession
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    raise ModuleNotFoundError("--engine spark needs pyspark: pip install 'guidekg[spark]'", name=exc.name) from exc

__all__ = ["Mapper", "assess", "audit", "mapper", "session"]


def session(master: str | None = None, app: str = "guidekg") -> SparkSession:
    """The active Spark session, or a new one on ``master``.

    With no ``master`` none is set here: under ``spark-submit`` the cluster's master applies
    (setting ``local[*]`` would override it and run the job on the driver alone), and a
    plain ``python`` process gets Spark's own default, ``local[*]``."""
    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    return builder.config("spark.ui.showConsoleProgress", "false").getOrCreate()


class Mapper:
    """A :func:`guidekg.batch.run_batch` mapper running chunks on Spark executors in waves of
    ``wave`` chunks, results in input order: the driver holds one wave at a time, so its
    memory stays flat. :meth:`share` ships a read-only value (the audit's groups) to every
    executor once, as a broadcast variable, instead of with every chunk."""

    def __init__(self, spark: SparkSession, wave: int | None = None) -> None:
        self.context = spark.sparkContext
        self.size = wave or max(2, 2 * self.context.defaultParallelism)

    def __call__(self, work: Iterable[Any], func: Callable[..., Any], args: tuple) -> Iterator[Any]:
        batch: list[Any] = []
        for chunk in work:
            batch.append(chunk)
            if len(batch) >= self.size:
                yield from _wave(self.context, batch, func, args)
                batch = []
        if batch:
            yield from _wave(self.context, batch, func, args)

    def share(self, value: Any) -> Any:
        """``value`` on every executor, read there as ``.value``."""
        return self.context.broadcast(value)


def mapper(spark: SparkSession, wave: int | None = None) -> Mapper:
    """A :class:`Mapper` on ``spark`` (default wave: twice the default parallelism)."""
    return Mapper(spark, wave)


def _wave(context: Any, batch: list[Any], func: Callable[..., Any], args: tuple) -> list[Any]:
    rdd = context.parallelize(list(enumerate(batch)), numSlices=len(batch))
    done = rdd.map(lambda item: (item[0], func(item[1], *args))).collect()
    return [result for _, result in sorted(done, key=lambda pair: pair[0])]


def _assess_partition(rows: Iterable[Any], name: str, header: list[str], explain: bool) -> Iterator[tuple]:
    import json

    from .batch import process_chunk
    from .ingest.parquet import cell_text
    from .vocabulary import vocabulary

    kinds = [vocabulary().columns[c].kind for c in header]
    chunk_rows = [(row["_line"], [cell_text(row[c], kind) for c, kind in zip(header, kinds, strict=True)], row["_duplicate_of"])
                  for row in rows]
    if not chunk_rows:
        return
    text, _ = process_chunk(("csv", name, header, chunk_rows), "fast", explain)
    for (line, _, _), data in zip(chunk_rows, text.splitlines(), strict=True):
        parsed = json.loads(data)
        yield parsed["patient"], parsed["status"], line, data


def assess(dataframe: Any, name: str = "dataframe", explain: bool = False) -> Any:
    """Assess a DataFrame of case-sheet rows (ARCHITECTURE §4.2 columns; values as text, or
    typed as in a Parquet case sheet, read as :func:`guidekg.ingest.parquet.cell_text` says):
    returns a DataFrame ``patient, status, line, result`` (``result``: the full JSON of
    ARCHITECTURE §5.1), one row per input row, none dropped.

    ``line`` is the row's line in its file when the DataFrame has a ``_line`` column, else
    its position + 2 (the header is line 1), as for a CSV read without multi-line cells. A
    patient id seen earlier (smaller line) makes the row ``invalid``, as locally. Header
    problems (an unknown column) raise before any work, naming the column.
    """
    from pathlib import Path

    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegerType, LongType, StringType, StructField, StructType

    from .ingest.casesheet import check_header
    from .model import SourceRef
    from .vocabulary import vocabulary

    header = [c for c in dataframe.columns if c != "_line"]
    check_header(Path(name), header, vocabulary())
    if "_line" not in dataframe.columns:
        indexed = dataframe.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1] + 2))
        # the DataFrame's own types (inferring them again fails on an all-empty column)
        dataframe = indexed.toDF(StructType([*dataframe.schema.fields, StructField("_line", LongType(), False)]))
    key = F.trim(F.col("patient_id"))
    first = (dataframe.where(key.isNotNull() & (key != "")).groupBy(key.alias("_id")).agg(F.min("_line").alias("_first")))
    joined = dataframe.join(first, key == F.col("_id"), "left")
    # str(SourceRef(name, line)) is "name:line", the local message's "first seen at" place
    assert str(SourceRef(name, 7)) == f"{name}:7"
    where = F.concat(F.lit(f"{name}:"), F.col("_first").cast("string"))
    joined = joined.withColumn("_duplicate_of", F.when(F.col("_first") < F.col("_line"), where))
    ordered = joined.repartitionByRange(max(1, dataframe.rdd.getNumPartitions()), "_line").sortWithinPartitions("_line")
    schema = StructType([StructField("patient", StringType()), StructField("status", StringType()),
                         StructField("line", IntegerType()), StructField("result", StringType())])
    return ordered.rdd.mapPartitions(lambda rows: _assess_partition(rows, name, header, explain)).toDF(schema)


def _tally_partition(rows: Iterable[Any], by: str | None) -> Iterator[Any]:
    import json

    from .audit import UNLISTED
    from .audit.tally import add_patient, new_tally

    tally = new_tally()
    for row in rows:
        group = None
        if by is not None:
            value = row["_group"]
            group = UNLISTED if value is None else (str(value).strip() or "(empty)")
        add_patient(tally, json.loads(row["result"]), group)
    yield tally


def audit(dataframe: Any, name: str = "dataframe", by: str | None = None) -> Any:
    """Concordance audit (:mod:`guidekg.audit`) of a DataFrame of case-sheet rows, computed on
    the executors: each partition's patients are assessed (:func:`assess`) and counted there,
    and only the per-partition tallies (a few hundred numbers) reach the driver.

    ``by`` names a column of the DataFrame that is not a case-sheet column (a centre, a
    year) to group by; it is set aside before assessment. An empty value is the group
    ``(empty)``, a null one ``(unlisted)``, as with ``guidekg audit --groups``. Returns an
    :class:`guidekg.audit.AuditResult`; :func:`guidekg.audit.report.write_report` writes it.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StructField, StructType

    from .audit import AuditResult, _labels
    from .audit.tally import merge, new_tally
    from .knowledge import knowledge

    if by is not None and by not in dataframe.columns:
        raise ValueError(f"{name}: no column '{by}' to group by; columns: {', '.join(dataframe.columns)}")
    if "_line" not in dataframe.columns:
        indexed = dataframe.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1] + 2))
        dataframe = indexed.toDF(StructType([*dataframe.schema.fields, StructField("_line", LongType(), False)]))
    results = assess(dataframe.drop(by) if by else dataframe, name)
    if by:
        groups = dataframe.select(F.col("_line").alias("_gline"), F.col(by).alias("_group"))
        results = results.join(groups, results["line"] == groups["_gline"], "left")

    def add(into: Any, other: Any) -> Any:
        merged = new_tally()
        merge(merged, into)
        merge(merged, other)
        return merged

    tally = results.rdd.mapPartitions(lambda rows: _tally_partition(rows, by)).fold(new_tally(), add)
    labels, kinds = _labels(tally)
    return AuditResult(tally, labels, kinds, by, knowledge().version)
