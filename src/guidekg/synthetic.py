"""Synthetic case-sheet cohorts for benchmarks and scale tests (never for clinical use).

Rows are drawn from the case-sheet vocabulary (``ontology/mappings/casesheet.csv``) with a
seeded generator, so a cohort is reproducible: every branch of the guideline is reached,
about 5% of patients lack molecular results, about 1% are contradictory (an asymptomatic
primary with a recorded symptom), and numbers cluster around the guideline's thresholds.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

from .vocabulary import vocabulary

COLUMNS = ("patient_id", "as_of", "age", "sex", "primary_site", "rectal_level", "sidedness", "liver_metastases",
           "resectability", "extrahepatic_disease", "primary_symptomatic", "symptom", "msi", "mmr", "kras", "nras",
           "braf", "her2", "ecog", "treatment_phase", "current_regimen", "months_on_chemo",
           "months_since_resectability_assessment", "months_since_short_course_rt", "last_bevacizumab_date",
           "planned_surgery_date", "hpb_mdt_reviewed", "pet_complete_metabolic_response",
           "one_stage_hepatectomy_feasible", "resection_margin", "planned_actions")

_MOLECULAR = ("msi", "mmr", "kras", "nras", "braf", "her2")
_ACTIONS = ("FOLFOX", "CAPOX", "FOLFIRI", "FOLFOXIRI", "cetuximab", "panitumumab", "bevacizumab", "pembrolizumab",
            "short-course RT", "long-course chemoradiotherapy", "liver biopsy", "hepatectomy", "two-stage hepatectomy",
            "primary tumour resection", "colorectal stent", "defunctioning stoma", "germline testing")


def _values(column: str) -> list[str]:
    return sorted(vocabulary().columns[column].values)


def synthetic_row(rng: random.Random, index: int) -> dict[str, str]:
    """One realistic case-sheet row (strings, empty = unknown)."""
    pick = rng.choice
    row = {c: "" for c in COLUMNS}
    row["patient_id"] = f"SYN{index:08d}"
    row["as_of"] = "2026-11-01"
    row["age"] = str(pick([rng.randint(30, 69), 70, 71, 75, 76, rng.randint(77, 90)]))
    row["sex"] = pick(["female", "male"])
    row["primary_site"] = "rectum" if rng.random() < 0.8 else pick(_values("primary_site"))
    if row["primary_site"] == "rectum":
        row["rectal_level"] = pick(_values("rectal_level"))
    if rng.random() < 0.1:
        row["sidedness"] = pick(_values("sidedness"))
    row["liver_metastases"] = "bilobar" if rng.random() < 0.9 else "unilobar"
    row["resectability"] = pick(_values("resectability"))
    row["extrahepatic_disease"] = "no" if rng.random() < 0.9 else "yes"
    symptomatic = rng.random() < 0.2
    row["primary_symptomatic"] = "yes" if symptomatic else "no"
    if symptomatic:
        row["symptom"] = pick(_values("symptom"))
    for column in _MOLECULAR:
        row[column] = pick(_values(column))
    if rng.random() < 0.05:  # molecular results missing
        for column in rng.sample(_MOLECULAR, rng.randint(1, len(_MOLECULAR))):
            row[column] = ""
    row["ecog"] = str(pick([0, 0, 1, 1, 1, 2, 2, 3, 4]))
    if rng.random() < 0.02:
        row["ecog"] = ""
    row["treatment_phase"] = pick(_values("treatment_phase"))
    if row["treatment_phase"] != "pre-treatment":
        row["current_regimen"] = pick(["FOLFOX;bevacizumab", "FOLFOXIRI;bevacizumab", "FOLFOX;panitumumab", ""])
        row["months_on_chemo"] = pick(["1.5", "2", "2.0", "3.5", "6", ""])
        row["months_since_resectability_assessment"] = pick(["1.5", "1.99", "2.0", "2", "2.01", "4", ""])
        if rng.random() < 0.3:
            row["months_since_short_course_rt"] = pick(["5.5", "6", "6.0", "6.01", "7.5"])
        row["hpb_mdt_reviewed"] = pick(["yes", "no", ""])
        row["pet_complete_metabolic_response"] = pick(["yes", "no", ""])
        row["one_stage_hepatectomy_feasible"] = pick(["yes", "no", ""])
        if row["treatment_phase"] in ("post-hepatectomy", "post-resection"):
            row["resection_margin"] = pick(_values("resection_margin") + [""])
        if rng.random() < 0.2:
            row["last_bevacizumab_date"] = "2026-10-01"
            row["planned_surgery_date"] = pick(["2026-11-05", "2026-11-12", "2026-11-20"])
    row["planned_actions"] = ";".join(rng.sample(_ACTIONS, rng.randint(0, 3)))
    if rng.random() < 0.01:  # contradictory: asymptomatic primary with a recorded symptom
        row["primary_symptomatic"] = "no"
        row["symptom"] = pick(_values("symptom"))
    return row


def synthetic_rows(count: int, seed: int = 0) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    for index in range(count):
        yield synthetic_row(rng, index)


def write_cohort(path: Path, count: int, seed: int = 0, bad_lines: dict[int, str] | None = None) -> Path:
    """Write a cohort CSV; ``bad_lines`` maps a 0-based row index to raw text written instead of that row."""
    bad_lines = bad_lines or {}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        for index, row in enumerate(synthetic_rows(count, seed)):
            if index in bad_lines:
                handle.write(bad_lines[index] + "\n")
            else:
                writer.writerow(row)
    return path
