"""The audit's CSV and self-contained HTML report (inline SVG, no script, no external request)."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from . import AuditResult
from .tally import ALL, DEVIATIONS, PATIENT_FIELDS, RULE_FIELDS, wilson

CSV_COLUMNS = ("group", "rule", "kind", "label", *RULE_FIELDS, "concordance", "ci_low", "ci_high")


def rows(result: AuditResult) -> list[dict[str, object]]:
    """One row per (group, rule): ``all`` first, then each group; rules by label."""
    out = []
    order = [ALL, *result.groups]
    keys = sorted(result.tally["rules"], key=lambda k: (order.index(k[0]), result.labels.get(k[1], k[1]), k[1]))
    for group, rule in keys:
        counts = result.tally["rules"][(group, rule)]
        low, high = wilson(counts["concordant"], counts["judged"])
        share = counts["concordant"] / counts["judged"] if counts["judged"] else None
        out.append({"group": group, "rule": rule, "kind": result.kinds.get(rule, ""), "label": result.labels.get(rule, rule),
                    **counts, "concordance": _num(share), "ci_low": _num(low), "ci_high": _num(high)})
    return out


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def render_csv(result: AuditResult) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(result))
    return buffer.getvalue()


def _bars(items: list[tuple[str, int, int]], title: str) -> str:
    """Horizontal bars: concordant / judged with the Wilson interval as a whisker."""
    width, left, row_h, top = 760, 330, 22, 28
    height = top + row_h * len(items) + 30
    scale = width - left - 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}"><title>{html.escape(title)}</title>',
             f'<text x="4" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 24}" stroke="#ddd"/>'
                     f'<text x="{x:.1f}" y="{height - 8}" font-size="10" text-anchor="middle">{int(tick * 100)}%</text>')
    for i, (label, good, judged) in enumerate(items):
        y = top + i * row_h
        share = good / judged if judged else 0.0
        low, high = wilson(good, judged)
        short = label if len(label) <= 48 else label[:47] + "…"
        parts.append(f'<text x="{left - 6}" y="{y + 14}" font-size="11" text-anchor="end">{html.escape(short)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{share * scale:.1f}" height="{row_h - 8}" fill="#4a7ab5">'
                     f'<title>{html.escape(label)}: {good}/{judged}</title></rect>')
        if low is not None and high is not None:
            parts.append(f'<line x1="{left + low * scale:.1f}" y1="{y + row_h / 2:.1f}" x2="{left + high * scale:.1f}" '
                         f'y2="{y + row_h / 2:.1f}" stroke="#222" stroke-width="1.5"/>')
        parts.append(f'<text x="{left + scale + 4}" y="{y + 14}" font-size="10">{good}/{judged}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(header: list[str], body: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    lines = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>"


def render_html(result: AuditResult) -> str:
    table_rows = rows(result)
    groups = [ALL, *result.groups]
    sections = []
    patients = result.tally["patients"]
    body = [[g, *(patients.get((g,), dict.fromkeys(PATIENT_FIELDS, 0))[f] for f in PATIENT_FIELDS)] for g in groups]
    sections.append("<h2>Patients</h2>" + _table(["group", *PATIENT_FIELDS], body))
    overall = [r for r in table_rows if r["group"] == ALL and r["judged"]]
    sections.append("<h2>Concordance by rule (all patients)</h2>"
                    "<p>Share of patients whose plan the rule judged that follow it (recommended or consistent), "
                    "with the Wilson 95% interval.</p>"
                    + _bars([(str(r["label"]), int(r["concordant"]), int(r["judged"])) for r in overall], "All patients"))
    if result.groups:
        sections.append(f"<h2>By {html.escape(result.by or 'group')}</h2>")
        for rule in sorted({r["rule"] for r in overall}, key=lambda x: result.labels.get(str(x), str(x))):
            items = [(g, int(r["concordant"]), int(r["judged"])) for g in result.groups
                     for r in table_rows if r["group"] == g and r["rule"] == rule and r["judged"]]
            if items:
                sections.append(_bars(items, result.labels.get(str(rule), str(rule))))
    header = ["group", "rule", "kind", "label", "eligible", "judged", "concordant", "not planned", *DEVIATIONS,
              "concordance", "95% CI"]
    body = [[r["group"], r["rule"], r["kind"], r["label"], r["eligible"], r["judged"], r["concordant"], r["not_planned"],
             *(r[d] for d in DEVIATIONS), r["concordance"], f"{r['ci_low']}–{r['ci_high']}" if r["ci_low"] else ""]
            for r in table_rows]
    sections.append("<h2>Counts</h2>" + _table(header, body))
    style = ("body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;font-size:12px}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}th{background:#f2f2f2}svg{display:block;margin:1em 0}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>guidekg concordance audit</title><style>{style}</style></head><body>"
            f"<h1>Guideline concordance audit</h1><p>Knowledge version: {html.escape(result.version)}. "
            "Counts come from each patient's plan verdicts (ARCHITECTURE §5.1); definitions in guidekg.audit.tally.</p>"
            + "".join(sections) + "</body></html>\n")


def write_report(result: AuditResult, out: str | Path) -> tuple[Path, Path]:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = folder / "audit.csv", folder / "audit.html"
    csv_path.write_text(render_csv(result), encoding="utf-8")
    html_path.write_text(render_html(result), encoding="utf-8")
    return csv_path, html_path
