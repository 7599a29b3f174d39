"""Parquet population output (``--format parquet``): compact rows as an Arrow table, streamed.

Each patient is one row. Typed columns answer population questions directly in any Parquet
reader (DuckDB, pandas, Spark): ``patient``, ``status``, ``treatment_classes``,
``recommendations`` (ids), ``alerts`` (ids), ``plan`` (action, from, verdict, rule),
``headline``. The ``row`` column holds the whole compact row as JSON, so
:func:`guidekg.export.compact.expand_row` with ``OUT.dict.json`` rebuilds the full form
exactly. Rows are written one chunk (row group) at a time: memory stays flat.

pyarrow is optional (``pip install guidekg[population]``); it is imported only here.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    raise ModuleNotFoundError("--format parquet needs pyarrow: pip install 'guidekg[population]'", name=exc.name) from exc

_PLAN = pa.struct([("action", pa.string()), ("from", pa.string()), ("verdict", pa.string()), ("rule", pa.string())])
SCHEMA = pa.schema([
    ("patient", pa.string()),
    ("status", pa.string()),
    ("treatment_classes", pa.list_(pa.string())),
    ("recommendations", pa.list_(pa.string())),
    ("alerts", pa.list_(pa.string())),
    ("plan", pa.list_(_PLAN)),
    ("headline", pa.string()),
    ("row", pa.string()),
])


def arrow_row(row: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "patient": row["patient"], "status": row["status"], "treatment_classes": row.get("treatment_classes", []),
        "recommendations": [r if isinstance(r, str) else r["id"] for r in row.get("recommendations", [])],
        "alerts": [a["id"] if "id" in a else a["whole"]["id"] for a in row.get("alerts", [])],
        "plan": [{"action": p.get("action"), "from": p.get("from"), "verdict": p.get("verdict"), "rule": p.get("rule")}
                 for p in row.get("plan", [])],
        "headline": (row.get("headline") or {}).get("text"),
        "row": text,
    }


def arrow_table(rows: list[dict[str, Any]], lines: list[str]) -> pa.Table:
    """Compact rows and their JSON text as one Arrow table (built where the rows are made, in a
    worker, so the writer neither parses JSON nor builds Python rows)."""
    return pa.Table.from_pylist([arrow_row(row, text) for row, text in zip(rows, lines, strict=True)], schema=SCHEMA)


def write_ipc(table: pa.Table, path: str) -> None:
    """``table`` as an Arrow IPC file (a worker's spooled chunk; :meth:`ParquetSink.write_ipc`)."""
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, SCHEMA) as writer:
        writer.write_table(table)


class ParquetSink:
    """A sink for :func:`guidekg.batch.run_batch`: takes compact NDJSON text (from Spark
    executors), Arrow tables (one process) or spooled Arrow IPC files (workers); writes Parquet."""

    arrow = True  # run_batch hands this sink Arrow, not text, where it can

    def __init__(self, path: str) -> None:
        self.path = path
        self._writer = pq.ParquetWriter(path, SCHEMA, compression="zstd")
        self.rows = 0

    def write(self, text: str) -> None:
        lines = [line for line in text.split("\n") if line]
        if lines:
            self.write_table(arrow_table([json.loads(line) for line in lines], lines))

    def write_table(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(table)
            self.rows += table.num_rows

    def write_ipc(self, path: str) -> None:
        """Append the Arrow IPC file a worker spooled at ``path`` (read memory-mapped)."""
        with pa.memory_map(path) as source:
            self.write_table(pa.ipc.open_file(source).read_all())

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._writer.close()


def read_rows(path: str) -> list[dict[str, Any]]:
    """The compact rows of a guidekg Parquet file (for tests and small files)."""
    return [json.loads(text) for text in pq.read_table(path, columns=["row"]).column("row").to_pylist()]
