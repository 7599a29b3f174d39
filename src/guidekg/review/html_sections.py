"""The longer sections of the HTML review: statements, recommendations, classes, changes, coverage."""

from __future__ import annotations

from html import escape as e
from typing import Any

from . import Review, triage
from .html import Links, anchor


def _verdict(text: str) -> str:
    return f"<span class='verdict v-{anchor('', text.replace(' ', '-'))}'>{e(text or 'no verdict')}</span>"


def statements(review: Review, links: Links) -> str:
    by_statement: dict[str, list] = {}
    for f in review.findings:
        for s in triage.concerns(review.onto, f):
            by_statement.setdefault(s, []).append(f)
    out = ["<h2 id='statements'>The guideline statement by statement</h2>"]
    for st in review.statements:
        cites = ", ".join(links.a(c["id"]) + (" <span class='badge unlisted'>unlisted</span>" if c["unlisted"] else "")
                          for c in st["citations"]) or "<b>none</b>"
        out.append(f"<div class='stmt' id='{anchor('stmt-', st['id'])}'><h3>{e(st['label'])} · {_verdict(st['verdict'])}</h3>"
                   f"<p class='muted'>{e(st['section'])} · {e(st['file'])}:{st['line']}</p><p>{e(st['text'])}</p>"
                   f"<p><b>Citations:</b> {cites}</p>"
                   f"<p><b>Evidence review:</b> {_verdict(st['verdict'])} {e(st['note'])}</p>"
                   + (f"<p class='muted'>Editorial note: {e(st['editorial'])}</p>" if st["editorial"] else ""))
        if not st["encodings"] and not st["literal"]:
            out.append("<p><span class='lvl WARN'>not encoded</span> Nothing in the guideline encodes this statement.</p>")
        else:
            out.append("<table><tr><th>encoded as</th><th>what</th><th>applies when</th><th>evidence</th></tr>")
            for enc in st["encodings"]:
                when = "<br>".join(f"{links.a(c['id'])} ≡ <code>{e(c['logic'])}</code>" for c in enc["classes"])
                when += "<br>".join(f"safety shape {e(s['id'])}: {e(s['label'])}" for s in enc["shapes"])
                if not when:
                    when = "<i>descriptive claim, not a rule</i>" if enc["kind"] == "fact" else "<i>no class or shape: never shown</i>"
                amend = (f"<br><span class='muted'>amends {', '.join(links.a(a) for a in enc['amends'])}</span>" if enc["amends"] else "") + \
                    (f"<br><span class='muted'>amended by {', '.join(links.a(a) for a in enc['amended_by'])}</span>" if enc["amended_by"] else "")
                ev = ", ".join(links.a(x["id"]) + (" (unlisted)" if x["unlisted"] else "") for x in enc["evidence"]) or "none"
                out.append(f"<tr><td><span class='badge'>{e(enc['kind'])}</span> {links.a(enc['id'])}</td>"
                           f"<td>{e(enc['label'])}{amend}</td><td>{when}</td><td>{ev}</td></tr>")
            for lit in st["literal"]:
                out.append(f"<tr><td><span class='badge'>literal reading</span> {links.a(lit['id'])}</td><td>{e(lit['label'])}</td>"
                           f"<td><code>{e(lit['logic'])}</code></td><td></td></tr>")
            out.append("</table>")
        found = by_statement.get(st["id"], [])
        if found:
            out.append("<p><b>Findings:</b> " + ", ".join(
                f"<a href='#{anchor('f-', f.id)}'>{e(f.level)} {e(f.rule)}</a>" + (" (accepted)" if f.id in review.waivers else "")
                for f in found) + "</p>")
        out.append("</div>")
    return "".join(out)


def recommendations(review: Review, links: Links, trail_svg) -> str:
    out = ["<h2 id='recommendations'>Recommendations and their evidence</h2>"]
    for rec in review.recommendations:
        css = "rec amendment" if rec["amendment"] else "rec"
        out.append(f"<div class='{css}' id='{anchor('rec-', rec['id'])}'><h3>{e(rec['id'])}: {e(rec['label'])}</h3><p>{e(rec['text'])}</p>")
        out.append("<p class='muted'>Statements: " + (", ".join(links.a(s) for s in rec["statements"]) or "none")
                   + (" · amends " + ", ".join(links.a(a) for a in rec["amends"]) if rec["amends"] else "") + "</p>")
        for trig in rec["triggered_by"]:
            out.append(f"<p>When {links.a(trig['class'])} ≡ <code>{e(trig['logic'])}</code></p>")
        if not rec["triggered_by"]:
            out.append("<p><i>Triggered by no decision class.</i></p>")
        out.append(trail_svg(review, rec["id"], links) + "</div>")
    return "".join(out)


def classes(review: Review, links: Links, index: dict[str, dict[str, Any]]) -> str:
    rows = "".join(f"<tr id='{anchor('cls-', c)}'><td>{e(c)}</td><td>{e(d.get('label', ''))}</td><td><code>{e(d['logic'])}</code></td>"
                   f"<td>{e(d['file'])}:{d['line']}</td><td>{', '.join(links.a(t) for t in sorted(set(d['triggers'])))}</td></tr>"
                   for c, d in index.items())
    return ("<h2 id='classes'>Decision classes (the axioms findings refer to)</h2><table><tr><th>class</th><th>label</th>"
            "<th>definition</th><th>file:line</th><th>triggers / raises</th></tr>" + rows + "</table>")


def _list(items, links: Links) -> str:
    return ", ".join(links.a(i) for i in items) or "none"


def changes(review: Review, links: Links) -> str:
    out = ["<section id='changes'><h2>Changes against the older version</h2>"]
    diff = review.diff or {}
    if review.comparison is not None:
        c = review.comparison
        out.append(f"<p>Findings: <b>{len(c['new'])} new</b>, {len(c['resolved'])} resolved, {len(c['unchanged'])} unchanged.</p>")
        for title, items, linked in (("New findings", c["new"], True), ("Resolved findings", c["resolved"], False)):
            if items:
                out.append(f"<h3>{title}</h3><ul>" + "".join(
                    f"<li><span class='lvl {e(f.level)}'>{e(f.level)}</span> "
                    + (f"<a href='#{anchor('f-', f.id)}'><code>{e(f.id)}</code></a>" if linked and f.id not in review.waivers else f"<code>{e(f.id)}</code>")
                    + f" {e(f.message)}</li>" for f in items) + "</ul>")
    if diff:
        out.append(f"<p class='muted'>Guideline diff: {e(str(diff.get('old')))} → {e(str(diff.get('new')))}</p>")
        st = diff.get("statements", [])
        if st:
            out.append("<h3>Statements</h3><table><tr><th>statement</th><th>changed</th><th>before</th><th>after</th></tr>" + "".join(
                f"<tr><td>{links.a(s['id'])}</td><td>{e(', '.join(s['changed']))}</td><td>{e(_plain(s['before']))}</td>"
                f"<td>{e(_plain(s['after']))}</td></tr>" for s in st) + "</table>")
        recs = diff["recommendations"]
        removed = diff.get("removed_recommendation_patients", {})
        out.append("<h3>Recommendations</h3><table><tr><th>added</th><td>" + _list(recs["added"], links) + "</td></tr>"
                   "<tr><th>removed (example patients who lose it)</th><td>" + ("<br>".join(
                       f"{e(r)}: {e(', '.join(removed.get(r, [])) or 'no example patient')}" for r in recs["removed"]) or "none") + "</td></tr></table>")
        if recs["changed"]:
            out.append("<table><tr><th>recommendation</th><th>property</th><th>before</th><th>after</th></tr>" + "".join(
                f"<tr><td>{links.a(c['id'])}</td><td>{e(p)}</td><td>{e(', '.join(c['before'][p]))}</td><td>{e(', '.join(c['after'][p]))}</td></tr>"
                for c in recs["changed"] for p in c["changed"]) + "</table>")
        cls = diff["classes"]
        if cls["added"] or cls["removed"] or cls["changed"]:
            out.append("<h3>Decision classes</h3><p>Added: " + _list(cls["added"], links) + " · removed: " + e(", ".join(cls["removed"]) or "none") + "</p>")
            out.append("<table><tr><th>class</th><th>changed</th><th>before</th><th>after</th></tr>" + "".join(
                f"<tr><td>{links.a(c['id'])}</td><td>{e(', '.join(c['changed']))}</td><td>{e(_plain(c['before']))}</td><td>{e(_plain(c['after']))}</td></tr>"
                for c in cls["changed"]) + "</table>")
        ev = diff["evidence_links"]
        if ev["added"] or ev["removed"]:
            out.append("<h3>Evidence links</h3><p>Added: " + e("; ".join(f"{r} → {s}" for r, s in ev["added"]) or "none")
                       + "<br>Removed: " + e("; ".join(f"{r} → {s}" for r, s in ev["removed"]) or "none") + "</p>")
        if diff.get("patients"):
            out.append("<h3>Example patients whose recommendations change</h3><table><tr><th>patient</th><th>lost</th><th>gained</th></tr>"
                       + "".join(f"<tr><td>{e(p['patient'])}</td><td>{_list(p['lost'], links)}</td><td>{_list(p['gained'], links)}</td></tr>"
                                 for p in diff["patients"]) + "</table>")
    return "".join(out) + "</section>"


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in value)
    return str(value)


def coverage(review: Review) -> str:
    from .report import _matrix_rows

    cov = review.coverage
    if cov is None:
        return "<h2 id='coverage'>Coverage</h2><p>Not run.</p>"
    summary = cov.summary()
    matrix = _matrix_rows(review)
    out = [f"<h2 id='coverage'>Coverage</h2><p>{summary['profiles']} patient profiles enumerated from the ontology in "
           f"{summary['seconds']} s ({summary['inconsistent_profiles']} inconsistent); cross-checked samples: {e(str(summary['cross_checked']))}.</p>",
           "<table><tr><th>amended first-line \\ literal reading</th>" + "".join(f"<th>{e(c)}</th>" for c in matrix["columns"]) + "</tr>"]
    for row, cells in zip(matrix["rows"], matrix["cells"], strict=True):
        out.append(f"<tr><th>{e(row)}</th>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "".join(out) + "</table>"
