"""The review as JSON, Markdown, CSV/TSV (ROBOT report columns) or one HTML page.

JSON carries everything (open and accepted findings with ids, fixes, witnesses and axioms;
the statements; the diff and the comparison of findings); CSV/TSV carry ROBOT's report
columns; the HTML page is :mod:`.html`.
"""

from __future__ import annotations

import json
from typing import Any

from ..namespaces import curie
from . import Review

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1300px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
th{background:#f0f0f0}.ERROR{background:#fdd}.WARN{background:#ffe9b3}.INFO{background:#e8f0ff}
.summary span{display:inline-block;padding:.4em 1em;margin-right:.5em;border-radius:4px;font-weight:bold}
code{font-size:12px;background:#f6f6f6;padding:1px 3px}img{max-width:100%;border:1px solid #ddd}
.rec{border-left:4px solid #a1d99b;padding:.3em .8em;margin:.8em 0}.amend{border-left-color:#fdae6b}"""


def as_json(review: Review) -> dict[str, Any]:
    from . import triage

    out = {
        "ontology": review.onto.origin, "reasoner": review.reasoner, "summary": review.counts(),
        "findings": [f.as_dict() | {"fix": triage.fix_text(f), "concerns": triage.concerns(review.onto, f)} for f in review.open_findings],
        "accepted": [f.as_dict() | {"waiver": vars(review.waivers[f.id])} for f in review.accepted],
        "statements": review.statements,
        "coverage": review.coverage.summary() if review.coverage else None,
        "coverage_matrix": _matrix_rows(review),
        "recommendations": review.recommendations, "diff": review.diff, "timings": review.timings, "stats": review.stats,
        "pictures": sorted(review.pictures),
    }
    if review.comparison is not None:
        out["comparison"] = {k: [f.id for f in v] for k, v in review.comparison.items()}
    return out


def render_json(review: Review) -> str:
    return json.dumps(as_json(review), indent=2, ensure_ascii=False, default=str)


def _matrix_rows(review: Review) -> dict[str, Any]:
    cov = review.coverage
    if cov is None:
        return {}
    rows = sorted({r for r, _ in cov.matrix}, key=lambda r: (r.startswith("("), r))
    cols = sorted({c for _, c in cov.matrix}, key=lambda c: (c.startswith("("), c))
    return {"rows": [curie(r) for r in rows], "columns": [curie(c) for c in cols],
            "cells": [[cov.matrix.get((r, c), 0) for c in cols] for r in rows]}


def render_markdown(review: Review) -> str:
    from . import triage

    counts = review.counts()
    lines = ["# Guideline authoring review", "", f"Ontology: `{review.onto.origin}` · reasoner: {review.reasoner}", "",
             f"**{counts['ERROR']} errors, {counts['WARN']} warnings, {counts['INFO']} info** (open; {len(review.accepted)} accepted)", ""]
    for key, items in triage.grouped(review.onto, review.open_findings):
        lines += [f"## {key}", ""]
        for f in items:
            lines.append(f"- **{f.level}** `{f.id}`: {f.message}")
            fix = triage.fix_text(f)
            if fix:
                lines.append(f"  - Fix: {fix}")
            if f.witness:
                lines.append("  - Witness: " + "; ".join(f"{k} = {v}" for k, v in f.witness))
        lines.append("")
    if review.accepted:
        lines += ["## Accepted findings (not counted)", ""]
        lines += [f"- `{f.id}`: {review.waivers[f.id].reason} ({review.waivers[f.id].who}, {review.waivers[f.id].date})" for f in review.accepted]
        lines.append("")
    if review.comparison is not None:
        lines += ["## Findings against the older version", ""]
        lines += [f"- {k}: " + (", ".join(f"`{f.id}`" for f in v) or "none") for k, v in review.comparison.items()]
        lines.append("")
    if review.coverage:
        cov = review.coverage.summary()
        lines += ["", "## Coverage", "", f"{cov['profiles']} profiles ({cov['seconds']} s); dimensions: "
                  + ", ".join(f"{k} ({v})" for k, v in cov["dimensions"].items()), ""]
        matrix = _matrix_rows(review)
        lines += ["| amended \\ literal | " + " | ".join(matrix["columns"]) + " |", "|---" * (len(matrix["columns"]) + 1) + "|"]
        for row, cells in zip(matrix["rows"], matrix["cells"], strict=True):
            lines.append(f"| {row} | " + " | ".join(str(c) for c in cells) + " |")
    lines += ["", "## Recommendations", ""]
    for rec in review.recommendations:
        lines.append(f"### {rec['id']}: {rec['label']}")
        lines.append(f"{rec['text']}")
        for trig in rec["triggered_by"]:
            lines.append(f"- when `{trig['class']}` ≡ `{trig['logic']}`")
        lines.append("- evidence: " + (", ".join(e["id"] + (" (unlisted)" if e["unlisted"] else "") for e in rec["evidence"]) or "none"))
        lines.append("")
    if review.diff:
        d = review.diff
        lines += ["## Changes against " + str(d["old"]), ""]
        lines += [f"- statement {s['id']}: {', '.join(s['changed'])} ({s['before']} -> {s['after']})" for s in d.get("statements", [])]
        lines += [f"- recommendation added: {r}" for r in d["recommendations"]["added"]]
        lines += [f"- recommendation removed: {r} (patients losing it: {', '.join(d['removed_recommendation_patients'].get(r, [])) or 'none'})"
                  for r in d["recommendations"]["removed"]]
        lines += [f"- recommendation {c['id']} changed: {', '.join(c['changed'])}" for c in d["recommendations"]["changed"]]
        lines += [f"- class {c['id']} changed: {', '.join(c['changed'])}" for c in d["classes"]["changed"]]
        lines += [f"- patient {p['patient']}: lost {p['lost']}, gained {p['gained']}" for p in d["patients"]]
    return "\n".join(lines)


def render(review: Review, fmt: str) -> str:
    from . import triage
    from .html import render_html

    if fmt in ("csv", "tsv"):
        return triage.export(review.findings, review.waivers, "," if fmt == "csv" else "\t")
    return {"html": render_html, "md": render_markdown, "json": render_json}[fmt](review)
