"""SPARQL result formats and content negotiation for the endpoint.

The four standard result formats are written here rather than by pyoxigraph's serializer
because the endpoint must stop at the result-size limit *before* serializing: solutions are
pulled one by one up to ``limit + 1`` and only then written, so a runaway result never
fills memory. Graph results (CONSTRUCT/DESCRIBE) are counted the same way and then
serialized by pyoxigraph.

Specs: SPARQL 1.1 Query Results JSON / XML / CSV and TSV formats (W3C Recommendations).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

RESULT_TYPES: dict[str, str] = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
}
"""Media types a SELECT/ASK result can be sent as (first = the default)."""

GRAPH_TYPES: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "application/x-turtle": ox.RdfFormat.TURTLE,
}
"""Media types a CONSTRUCT/DESCRIBE result can be sent as (first = the default)."""

CANONICAL = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
             "csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8"}


class NotAcceptable(Exception):
    """No media type in the Accept header can carry this kind of result (HTTP 406)."""


_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    """``value`` as XML 1.0 character data; :class:`NotAcceptable` when XML 1.0 cannot carry it.

    XML 1.0 has no way to write most C0 control characters (not even as ``&#1;``), so a
    result holding one is refused in XML (406, naming the character) rather than sent
    malformed; JSON, CSV and TSV carry it. A carriage return is written ``&#13;`` so a parser's
    line-end normalisation does not turn it into a line feed.
    """
    bad = _XML_FORBIDDEN.search(value)
    if bad:
        raise NotAcceptable(f"the result holds the character U+{ord(bad.group()):04X}, which XML 1.0 cannot carry; "
                            "ask for application/sparql-results+json, text/csv or text/tab-separated-values")
    return escape(value).replace("\r", "&#13;")


def xml_attribute(value: str) -> str:
    xml_text(value)
    return quoteattr(value).replace("\r", "&#13;")


def negotiate(accept: str | None, offers: Sequence[str]) -> str:
    """The offered media type the client prefers (RFC 9110 §12.5.1 q-values; ties keep offer order)."""
    if not accept or not accept.strip():
        return offers[0]
    ranges: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        quality = 1.0
        for param in pieces[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((quality, index, media))
    best, best_quality = None, 0.0
    for offer in offers:
        quality = _quality(offer, ranges)
        if quality > best_quality:
            best, best_quality = offer, quality
    if best is None:
        raise NotAcceptable(f"none of the accepted types ({accept}) can carry this result; offered: {', '.join(offers)}")
    return best


def _quality(offer: str, ranges: list[tuple[float, int, str]]) -> float:
    """Quality of the most specific range matching ``offer`` (exact beats type/* beats */*)."""
    kind = offer.split("/")[0]
    found: tuple[int, float] | None = None
    for quality, _, media in ranges:
        specificity = 3 if media == offer else 2 if media == f"{kind}/*" else 1 if media == "*/*" else 0
        if specificity and (found is None or specificity > found[0]):
            found = (specificity, quality)
    return found[1] if found else 0.0


class TooLarge(Exception):
    """The result passes the row or byte limit (HTTP 422); the message says which."""


def _size(item) -> int:
    terms = item if isinstance(item, ox.QuerySolution) else (item.subject, item.predicate, item.object)
    return sum(len(str(t)) for t in terms if t is not None) + 16


def take(items: Iterable, limit: int, max_bytes: int | None = None) -> tuple[list, bool]:
    """At most ``limit`` items, and whether there were more; :class:`TooLarge` past ``max_bytes``.

    The byte count is an estimate of the serialized size taken row by row, so a query whose
    few rows hold huge strings is stopped while it is read, not after it is written.
    """
    out, size = [], 0
    for item in items:
        if len(out) >= limit:
            return out, True
        if max_bytes is not None:
            size += _size(item)
            if size > max_bytes:
                raise TooLarge(f"the result is larger than {max_bytes} bytes, the server's limit (--max-response-bytes); "
                               "add LIMIT or select fewer or shorter values")
        out.append(item)
    return out, False


def _json_term(term) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    return {"type": "triple", "value": str(term)}


def _xml_term(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{xml_text(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{xml_text(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={xml_attribute(term.language)}>{xml_text(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={xml_attribute(term.datatype.value)}>{xml_text(term.value)}</literal>"
        return f"<literal>{xml_text(term.value)}</literal>"
    return f"<literal>{xml_text(str(term))}</literal>"


def _csv_term(term) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, (ox.NamedNode, ox.Literal)):
        return term.value
    return str(term)


def _tsv_term(term) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.Literal) and term.datatype.value == XSD_STRING:
        return str(ox.Literal(term.value))  # RDF 1.1: a simple literal, written without its datatype
    return str(term)  # pyoxigraph's str() is the N-Triples/Turtle form the TSV format requires


def select_results(variables: Sequence[str], rows: Sequence[Sequence], fmt: str) -> bytes:
    """Solutions of a select query (each a sequence of terms or None, in ``variables`` order) in one format."""
    if fmt == "json":
        bindings = [{v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None} for row in rows]
        return json.dumps({"head": {"vars": list(variables)}, "results": {"bindings": bindings}},
                          ensure_ascii=False).encode("utf-8")
    if fmt == "xml":
        out = ['<?xml version="1.0"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">', "<head>"]
        out += [f"<variable name={xml_attribute(v)}/>" for v in variables]
        out += ["</head>", "<results>"]
        for row in rows:
            out.append("<result>")
            out += [f"<binding name={xml_attribute(v)}>{_xml_term(t)}</binding>"
                    for v, t in zip(variables, row, strict=True) if t is not None]
            out.append("</result>")
        out += ["</results>", "</sparql>"]
        return ("\n".join(out) + "\n").encode("utf-8")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(variables)
        writer.writerows([_csv_term(t) for t in row] for row in rows)
        return buffer.getvalue().encode("utf-8")
    if fmt == "tsv":
        lines = ["\t".join(f"?{v}" for v in variables)]
        lines += ["\t".join(_tsv_term(t) for t in row) for row in rows]
        return ("\n".join(lines) + "\n").encode("utf-8")
    raise ValueError(f"unknown result format {fmt!r}")


def ask_result(answer: bool, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": answer}).encode("utf-8")
    if fmt == "xml":
        return (f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n'
                f"<head/>\n<boolean>{'true' if answer else 'false'}</boolean>\n</sparql>\n").encode()
    return b"true\n" if answer else b"false\n"  # CSV/TSV define no boolean form; this is the common practice


def graph_result(triples: Sequence[ox.Triple], media_type: str, prefixes: dict[str, str] | None = None) -> bytes:
    fmt = GRAPH_TYPES[media_type]
    use_prefixes = prefixes if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML) else None
    return ox.serialize(triples, format=fmt, prefixes=use_prefixes) or b""
