"""The review as one self-contained HTML page an author can navigate.

A table of contents, then: findings grouped by the statement they concern (worst first), each
with its stable id, the fix, a witness table, the axioms involved (file and line, linked to
the class index) and links to its statement and recommendations; accepted findings apart;
changes against an older version as tables; the guideline statement by statement; every
recommendation with its evidence trail as inline SVG; the care pathway; the class index;
coverage. No script, no external request: CSS and SVG are inline and every value is escaped.
"""

from __future__ import annotations

import re
from html import escape as e
from typing import Any

from ..namespaces import curie
from . import Review, triage
from .evidence_graph import column, statements_of, trail
from .model import Finding
from .svg import Edge, Node, render

CSS = """body{font-family:system-ui,sans-serif;margin:0;color:#222;line-height:1.4}
main{margin-left:250px;padding:1em 2em;max-width:1250px}nav#toc{position:fixed;top:0;left:0;width:230px;height:100%;overflow:auto;
background:#f6f6f6;border-right:1px solid #ddd;padding:1em;font-size:13px;box-sizing:border-box}nav#toc a{display:block;padding:2px 0}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f0f0f0}.lvl{display:inline-block;padding:0 .5em;border-radius:3px;font-weight:bold;font-size:12px}
.ERROR{background:#fdd}.WARN{background:#ffe9b3}.INFO{background:#e8f0ff}.ACCEPTED{background:#e6f4e6}
.summary span{display:inline-block;padding:.4em 1em;margin-right:.5em;border-radius:4px;font-weight:bold}
.finding{border:1px solid #ddd;border-left:5px solid #999;padding:.4em .8em;margin:.6em 0;background:#fff}
.finding.ERROR{border-left-color:#d62728;background:#fff}.finding.WARN{border-left-color:#e6a700;background:#fff}
.finding.INFO{border-left-color:#6b8fd6;background:#fff}.fix{background:#f3f9f1;padding:.2em .5em;border-radius:3px}
code{font-size:12px;background:#f3f3f3;padding:1px 3px}.muted{color:#666;font-size:12px}
.stmt,.rec{border:1px solid #ddd;padding:.5em 1em;margin:1em 0;border-radius:4px}.rec.amendment{border-left:4px solid #fdae6b}
.verdict{padding:0 .4em;border-radius:3px;font-weight:bold}.v-supported{background:#d9f0d3}.v-simplified{background:#fff3c4}
.v-disputed,.v-not-found,.v-outdated{background:#fdd}.badge{font-size:11px;padding:0 .4em;border-radius:3px;background:#eee}
.unlisted{background:#fdd}.picture{overflow-x:auto;border:1px solid #eee;margin:.5em 0}h2{border-bottom:2px solid #ddd;padding-top:.5em}"""


def anchor(prefix: str, text: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_-]+", "-", text.removeprefix("gk:")).strip("-")


class Links:
    """Which anchors exist, so every link the page makes resolves (a missing target is not linked)."""

    def __init__(self, review: Review) -> None:
        self.statements = {s["id"] for s in review.statements}
        self.recs = {r["id"] for r in review.recommendations}
        self.classes = set(_class_index(review))
        self.sources = set(_sources(review))

    def of(self, name: str) -> str:
        if name in self.statements:
            return "#" + anchor("stmt-", name)
        if name in self.recs:
            return "#" + anchor("rec-", name)
        if name in self.classes:
            return "#" + anchor("cls-", name)
        if name in self.sources:
            return "#" + anchor("src-", name)
        return ""

    def a(self, name: str, text: str | None = None) -> str:
        href = self.of(name)
        return f'<a href="{href}">{e(text or name)}</a>' if href else e(text or name)


def _class_index(review: Review) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for st in review.statements:
        for enc in st["encodings"]:
            for cls in enc["classes"]:
                out.setdefault(cls["id"], {**cls, "triggers": []})["triggers"].append(enc["id"])
        for cls in st["literal"]:
            out.setdefault(cls["id"], {**cls, "triggers": []})
    for f in review.findings:
        for text, file, line in f.axioms:
            name = text.split(" ", 1)[0]
            if name.startswith("gk:") and name not in out:
                out[name] = {"id": name, "label": "", "logic": text.split(" ", 2)[-1], "file": file, "line": line, "triggers": []}
    return dict(sorted(out.items()))


def _sources(review: Review) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    net = review.network
    if net is None:
        return out
    for node, data in net.nodes(data=True):
        if data["kind"] in ("citation", "unlisted", "reference"):
            out[node] = {"kind": data["kind"], "title": data.get("title", ""),
                         "by": sorted({s for s, _ in net.in_edges(node)}, key=_natural)}
    return dict(sorted(out.items(), key=lambda kv: _natural(kv[0])))


def _natural(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def _witness(table: dict[str, str]) -> str:
    if not table:
        return ""
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in table.items())
    return f"<table class='witness'><tr><th colspan='2'>Smallest witness patient (only the facts that matter)</th></tr>{rows}</table>"


def _finding(review: Review, f: Finding, links: Links, accepted: bool = False) -> str:
    details = dict(f.details)
    concerned = triage.concerns(review.onto, f)
    names = sorted(set(re.findall(r"gk:[A-Za-z_][\w.-]*", " ".join((f.subject, f.value)))))
    parts = [f"<div class='finding {e(f.level)}' id='{anchor('f-', f.id)}'>",
             f"<span class='lvl {e(f.level)}'>{e(f.level)}</span> <b>{e(f.rule)}</b> · <code>{e(f.id)}</code>"
             + (" <span class='badge ACCEPTED'>accepted</span>" if accepted else ""),
             f"<p>{links.a(f.subject) if f.subject in links.statements | links.recs | links.classes else e(f.subject)}"
             + (f" · {e(f.property)}" if f.property else "") + (f" · {e(f.value)}" if f.value else "") + f": {e(f.message)}</p>"]
    if accepted:
        w = review.waivers[f.id]
        parts.append(f"<p class='fix'>Accepted by {e(w.who or '?')} on {e(w.date or '?')}: {e(w.reason)}</p>")
    else:
        fix = triage.fix_text(f)
        if fix:
            parts.append(f"<p class='fix'><b>Fix:</b> {e(fix)}</p>")
    refs = [links.a(s) for s in concerned] + [links.a(n) for n in names if n not in concerned and links.of(n)]
    if refs:
        parts.append("<p class='muted'>Concerns: " + ", ".join(refs) + "</p>")
    parts.append(_witness(dict(f.witness)))
    cases = details.get("cases") or []
    if cases:
        parts.append("<table><tr><th>case</th><th>resolved by changing</th><th>profiles</th><th>witness</th></tr>"
                     + "".join(f"<tr><td>{e(c['what'])}</td><td>{e(c['pivot'])}</td><td>{c['profiles']}</td>"
                               f"<td>{e('; '.join(f'{k}: {v}' for k, v in c['witness'].items()))}</td></tr>" for c in cases) + "</table>")
    why = details.get("why_not") or {}
    if why:
        parts.append("<table><tr><th>class</th><th>conditions the witness fails</th></tr>"
                     + "".join(f"<tr><td>{links.a(c)}</td><td>{e('; '.join(v) or 'none (holds)')}</td></tr>" for c, v in why.items()) + "</table>")
    if f.axioms:
        parts.append("<table><tr><th>axioms involved</th><th>where</th></tr>" + "".join(
            f"<tr><td><code>{e(a)}</code></td><td>{links.a(a.split(' ', 1)[0], f'{file}:{line}') if file else ''}</td></tr>"
            for a, file, line in f.axioms) + "</table>")
    if "proved_by" in details:
        parts.append(f"<p class='muted'>Proved by: {e(', '.join(details['proved_by']))}</p>")
    parts.append("</div>")
    return "".join(parts)


def _trail_svg(review: Review, rec: str, links: Links) -> str:
    net = review.network
    if net is None or rec not in net:
        return ""
    sub = trail(net, rec)
    palette = {"statement": "#9ecae1", "recommendation": "#a1d99b", "amendment": "#fdae6b", "alert": "#fdd0a2",
               "fact": "#dadaeb", "citation": "#fcbba1", "unlisted": "#ef3b2c", "reference": "#e0e0e0"}
    legend = {"statement": "source statement", "recommendation": "recommendation", "amendment": "amendment",
              "citation": "source citation", "unlisted": "citation not in the source's list", "reference": "review reference"}
    nodes = []
    for node, data in sub.nodes(data=True):
        href = links.of(node) or (links.of(statements_of(net, node)[0]) if statements_of(net, node) else "")
        nodes.append(Node(node, data["label"] + (f": {data['title']}" if data.get("title") and data["kind"] in ("recommendation", "amendment") else ""),
                          data["kind"], column(data["kind"]), (list(palette).index(data["kind"]) if data["kind"] in palette else 9, _natural(node)), f"{node} ({data['kind']}) {data.get('title', '')}", href))
    edges = [Edge(s, t, "" if d["relation"] in ("encoded by", "evidence") else d["relation"], f"{s} {d['relation']} {t}", d["relation"] == "amends")
             for s, t, d in sorted(sub.edges(data=True))]
    return "<div class='picture'>" + render(nodes, edges, palette, legend, f"Evidence trail of {rec}", node_width=190, gap=90,
                                            ident=anchor("trail-", rec)) + "</div>"


def render_html(review: Review) -> str:
    from .html_sections import changes, classes, coverage, recommendations, statements

    links = Links(review)
    counts = review.counts()
    groups = triage.grouped(review.onto, review.open_findings)
    toc = [("summary", "Summary"), ("findings", f"Findings ({len(review.open_findings)})"),
           ("accepted", f"Accepted ({len(review.accepted)})")]
    toc += [("changes", "Changes against older version")] if review.diff or review.comparison else []
    toc += [("statements", "The guideline statement by statement"), ("recommendations", "Recommendations and evidence"),
            ("pathway", "Care pathway"), ("classes", "Decision classes (axioms)"), ("sources", "Sources"), ("coverage", "Coverage")]
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>guidekg authoring review</title>",
           f"<style>{CSS}</style></head><body><nav id='toc'><b>Contents</b>"
           + "".join(f"<a href='#{i}'>{e(t)}</a>" for i, t in toc) + "<hr><b>Findings by subject</b>"
           + "".join(f"<a href='#{anchor('g-', k)}'>{e(k)} ({len(v)})</a>" for k, v in groups) + "</nav><main>",
           "<h1>Guideline authoring review</h1>",
           f"<section id='summary'><p>Ontology <code>{e(review.onto.origin)}</code>, reasoner <b>{e(review.reasoner)}</b>.</p>"
           "<div class='summary'>" + "".join(f"<span class='{lvl}'>{lvl}: {n}</span>" for lvl, n in counts.items())
           + f"<span class='ACCEPTED'>accepted: {len(review.accepted)}</span></div>"
           "<p class='muted'>Open findings only are counted; accepted ones are listed apart with their reason "
           f"(waivers file <code>{e(str(triage.waivers_path(review.onto).name))}</code> beside the modules).</p></section>",
           "<h2 id='findings'>Findings, by the statement they concern</h2>"]
    for key, items in groups:
        title = links.a(key) if links.of(key) else e(key)
        out.append(f"<section class='group' id='{anchor('g-', key)}'><h3>{title}</h3>"
                   + "".join(_finding(review, f, links) for f in items) + "</section>")
    out.append("<h2 id='accepted'>Accepted findings (not counted)</h2>")
    out += [_finding(review, f, links, accepted=True) for f in review.accepted] or ["<p>None.</p>"]
    unknown = sorted(set(review.waivers) - {f.id for f in review.findings})
    if unknown:
        out.append("<p class='muted'>Waivers that match no current finding (remove them): "
                   + ", ".join(f"<code>{e(i)}</code> (line {review.waivers[i].line})" for i in unknown) + "</p>")
    if review.diff or review.comparison:
        out.append(changes(review, links))
    out += [statements(review, links), recommendations(review, links, _trail_svg),
            "<h2 id='pathway'>Care pathway</h2><p class='muted'>Conditions on the edges are the classes a patient must be in "
            "to stand at the next step; hover for the full definition, click a box for its class.</p>"
            + "<div class='picture'>" + (review.pictures.get("care pathway", {}).get("svg", b"").decode("utf-8")) + "</div>",
            classes(review, links, _class_index(review)), _sources_html(review, links), coverage(review)]
    out.append(f"<p class='muted'>Timings (s): {e(str(review.timings))}</p></main></body></html>")
    return "\n".join(out)


def _sources_html(review: Review, links: Links) -> str:
    rows = []
    for sid, data in _sources(review).items():
        flag = " <span class='badge unlisted'>not in the source's reference list</span>" if data["kind"] == "unlisted" else ""
        by = ", ".join(links.a(b) for b in data["by"]) or "<b>nothing</b>"
        rows.append(f"<tr id='{anchor('src-', sid)}'><td>{e(sid)}{flag}</td><td>{e(data['title'])}</td><td>{by}</td></tr>")
    return ("<h2 id='sources'>Sources</h2><table><tr><th>source</th><th>title</th><th>cited or noted by</th></tr>"
            + "".join(rows) + "</table>")


__all__ = ["anchor", "curie", "render_html"]
