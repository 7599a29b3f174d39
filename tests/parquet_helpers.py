"""Test cohorts written twice: as a CSV case sheet and as a typed Parquet file with the same rows.

The Parquet file is typed the way a registry extract is (ages and ECOG as integers or
floats, dates as dates, flags as booleans, action lists as lists), built here from the
string rows with the test's own conversion, not with the reader under test. Bad rows are
planted in both files; :func:`csv_to_parquet_names` maps the CSV engine's names for a row
(``FILE:LINE``, ``line-N``) to the Parquet ones (``FILE (row N)``, ``row-N``, N = LINE - 1),
so the CSV engine's output is the expectation for the Parquet one.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from guidekg.synthetic import COLUMNS, synthetic_rows

INTEGERS = ("age",)
FLOATS = ("ecog", "months_on_chemo", "months_since_resectability_assessment", "months_since_short_course_rt")
DECIMALS = FLOATS[1:]  # a double has one text: the CSV writes it as Python does (2 -> 2.0)
DATES = ("as_of", "last_bevacizumab_date", "planned_surgery_date")
BOOLEANS = ("extrahepatic_disease", "primary_symptomatic", "hpb_mdt_reviewed", "pet_complete_metabolic_response",
            "one_stage_hepatectomy_feasible")
LISTS = ("planned_actions", "current_regimen")

# 0-based row index -> (column, value as written in the CSV, typed value in the Parquet file)
BAD = {
    11: ("ecog", "2.5", 2.5),  # a float that is no ECOG grade
    40: ("sex", "femal", "femal"),  # an unknown value
    77: ("patient_id", "", None),  # no patient id
    90: ("patient_id", "SYN00000003", "SYN00000003"),  # a duplicate of row index 3
    130: ("months_on_chemo", "nan", float("nan")),  # not a number (never read as unknown)
}


def _typed(column: str, text: str, planted: object = ...) -> object:
    if planted is not ...:
        return planted
    if text == "":
        return None
    if column in INTEGERS:
        return int(text)
    if column in FLOATS:
        return float(text)
    if column in DATES:
        return dt.date.fromisoformat(text)
    if column in BOOLEANS:
        return {"yes": True, "no": False}[text]
    if column in LISTS:
        return text.split(";")
    return text


def write_pair(folder: Path, count: int, seed: int = 0, bad: dict | None = None, row_group_size: int = 500) -> tuple[Path, Path]:
    """cohort.csv and cohort.parquet with the same synthetic rows and the same planted bad values."""
    bad = BAD if bad is None else bad
    rows = [dict(row) for row in synthetic_rows(count, seed)]
    planted: dict[tuple[int, str], object] = {}
    for row in rows:
        row.update({c: repr(float(row[c])) for c in DECIMALS if row[c]})
    for index, (column, text, value) in bad.items():
        rows[index][column] = text
        planted[(index, column)] = value
    sheet = folder / "cohort.csv"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    types = {c: pa.int64() for c in INTEGERS} | {c: pa.float64() for c in FLOATS} | {c: pa.date32() for c in DATES} \
        | {c: pa.bool_() for c in BOOLEANS} | {c: pa.list_(pa.string()) for c in LISTS}
    columns = {c: pa.array([_typed(c, row[c], planted.get((i, c), ...)) for i, row in enumerate(rows)], type=types.get(c, pa.string()))
               for c in COLUMNS}
    table = pa.table(columns)
    parquet = folder / "cohort.parquet"
    pq.write_table(table, parquet, row_group_size=row_group_size)
    return sheet, parquet


def csv_to_parquet_names(text: str, sheet: Path, parquet: Path) -> str:
    """The CSV engine's output with its row names written as the Parquet reader names them."""
    text = re.sub(re.escape(str(sheet)) + r":(\d+)", lambda m: f"{parquet} (row {int(m[1]) - 1})", text)
    return re.sub(r'"line-(\d+)"', lambda m: f'"row-{int(m[1]) - 1}"', text)
