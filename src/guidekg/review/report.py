"""The review as one self-contained HTML page, Markdown or JSON.

The HTML inlines its CSS and its pictures (data: URIs), so it opens from a mail attachment
or a CI artefact with no network; every value is escaped.
"""

from __future__ import annotations

import base64
import json
from html import escape
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
    return {
        "ontology": review.onto.origin, "reasoner": review.reasoner, "summary": review.counts(),
        "findings": [f.as_dict() for f in review.findings],
        "coverage": review.coverage.summary() if review.coverage else None,
        "coverage_matrix": _matrix_rows(review),
        "recommendations": review.recommendations, "diff": review.diff, "timings": review.timings, "stats": review.stats,
        "pictures": sorted(review.pictures),
    }


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
    counts = review.counts()
    lines = ["# Guideline authoring review", "", f"Ontology: `{review.onto.origin}` · reasoner: {review.reasoner}", "",
             f"**{counts['ERROR']} errors, {counts['WARN']} warnings, {counts['INFO']} info**", "",
             "| level | rule | subject | property | value | message |", "|---|---|---|---|---|---|"]
    for f in review.findings:
        cells = [f.level, f.rule, f.subject, f.property, f.value, f.message]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
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
        lines += ["## Changes against " + str(review.diff["old"]), "", "```json", json.dumps(review.diff, indent=2, default=str), "```"]
    return "\n".join(lines)


def _picture(name: str, data: dict[str, bytes]) -> str:
    uri = "data:image/svg+xml;base64," + base64.b64encode(data["svg"]).decode("ascii")
    return f'<figure><img alt="{escape(name)}" src="{uri}"><figcaption>{escape(name)}</figcaption></figure>'


def render_html(review: Review) -> str:
    counts = review.counts()
    e = escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>guidekg authoring review</title><style>{_CSS}</style></head><body>",
             "<h1>Guideline authoring review</h1>",
             f"<p>Ontology <code>{e(review.onto.origin)}</code>, reasoner <b>{e(review.reasoner)}</b>.</p>",
             "<div class='summary' id='summary'>" + "".join(f"<span class='{lvl}'>{lvl}: {n}</span>" for lvl, n in counts.items()) + "</div>",
             "<h2>Findings</h2><table id='findings'><tr><th>level</th><th>rule</th><th>subject</th><th>property</th><th>value</th><th>message</th></tr>"]
    for f in review.findings:
        parts.append(f"<tr class='{e(f.level)}'>" + "".join(f"<td>{e(c)}</td>" for c in (f.level, f.rule, f.subject, f.property, f.value, f.message)) + "</tr>")
    parts.append("</table>")
    if review.coverage:
        cov = review.coverage.summary()
        matrix = _matrix_rows(review)
        parts.append(f"<h2>Coverage</h2><p>{cov['profiles']} patient profiles enumerated from the ontology in {cov['seconds']} s "
                     f"({cov['inconsistent_profiles']} inconsistent); cross-checked samples: {e(str(cov['cross_checked']))}. Dimensions: "
                     + ", ".join(f"{e(k)} ({v})" for k, v in cov["dimensions"].items()) + ".</p>")
        parts.append("<table id='coverage'><tr><th>amended first-line \\ literal reading</th>" + "".join(f"<th>{e(c)}</th>" for c in matrix["columns"]) + "</tr>")
        for row, cells in zip(matrix["rows"], matrix["cells"], strict=True):
            parts.append(f"<tr><th>{e(row)}</th>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append("</table>")
    if review.pictures:
        parts.append("<h2>Pictures</h2>" + "".join(_picture(n, d) for n, d in review.pictures.items()))
    else:
        parts.append("<h2>Pictures</h2><p>Not drawn: install matplotlib (pip install 'guidekg[review]').</p>")
    parts.append("<h2>Recommendations</h2>")
    for rec in review.recommendations:
        css = "rec amend" if rec["amendment"] else "rec"
        parts.append(f"<div class='{css}' id='{e(rec['id'])}'><h3>{e(rec['id'])}: {e(rec['label'])}</h3><p>{e(rec['text'])}</p>")
        if rec["amends"]:
            parts.append(f"<p>Amends {e(', '.join(rec['amends']))}</p>")
        for trig in rec["triggered_by"]:
            parts.append(f"<p>When <b>{e(trig['class'])}</b> ≡ <code>{e(trig['logic'])}</code></p>")
        if not rec["triggered_by"]:
            parts.append("<p><i>Triggered by no decision class.</i></p>")
        parts.append("<p>Evidence: " + (", ".join(e(x["id"] + (" (unlisted)" if x["unlisted"] else "") + (f" {x['label']}" if x["label"] else ""))
                                                  for x in rec["evidence"]) or "none") + "</p></div>")
    if review.diff:
        parts.append(f"<h2>Changes against {e(str(review.diff['old']))}</h2><pre>{e(json.dumps(review.diff, indent=2, default=str))}</pre>")
    parts.append(f"<p><small>Timings (s): {e(str(review.timings))}</small></p></body></html>")
    return "\n".join(parts)


def render(review: Review, fmt: str) -> str:
    return {"html": render_html, "md": render_markdown, "json": render_json}[fmt](review)
