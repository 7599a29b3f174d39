"""One text for both parsers: normalise a SPARQL request before it is checked and executed.

Why: the refusal of ``SERVICE``/``LOAD`` is decided on rdflib's parse, but pyoxigraph runs
the query, and the two lexers disagreed. A comment ending in a bare carriage return is
closed there for pyoxigraph (SPARQL 1.1 §19.6: a comment ends at 0x0D or 0x0A) but ran on
for rdflib, so ``# x\\rSERVICE <...>`` was a comment to the checker and a federated query
to the engine. Codepoint escapes (``\\u0053ERVICE``) are another split: rdflib expands them
everywhere before parsing (as §19.2 says), pyoxigraph only inside IRIs and strings.

So the request is normalised once, and that one text is what rdflib checks and what
pyoxigraph executes:

* codepoint escapes are expanded (§19.2) until none is left, so no later expansion by
  either parser can change a single character;
* every line ending (CR LF, bare CR) becomes LF, so a comment ends at the same place for both.

A second, independent check then lexes the normalised text the way the grammar does
(strings, IRIs, comments) and refuses a bare ``SERVICE`` or ``LOAD`` keyword anywhere, so a
future disagreement between the two parsers still cannot reach the network. The worker
process additionally runs without network access where the OS allows it (:mod:`.sandbox`).
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_TOKENS = re.compile(
    r"""'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''"""
    r'''|"""(?:(?:"|"")?(?:[^"\\]|\\.))*"""'''
    r"""|'(?:[^'\\\n]|\\.)*'"""
    r'''|"(?:[^"\\\n]|\\.)*"'''
    r"""|<[^<>"{}|^`\\\x00-\x20]*>"""
    r"""|\#[^\n]*""",
    re.DOTALL,
)
_KEYWORD = re.compile(r"(?<![\w:?$@\\-])(SERVICE|LOAD)(?![\w:-])", re.IGNORECASE)
_OPENERS, _CLOSERS = "({[", ")}]"

MAX_NESTING = 200
"""Deepest bracket nesting accepted: far beyond any real query, well inside the parser's stack."""

REFUSALS = {"SERVICE": "federated query (SERVICE) is not allowed on this endpoint",
            "LOAD": "LOAD (fetching remote data) is not allowed on this endpoint"}


class Unacceptable(ValueError):
    """The text cannot be normalised or is refused; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _expand(match: re.Match[str]) -> str:
    code = int(match.group(1) or match.group(2), 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise Unacceptable(400, f"SPARQL syntax error: {match.group(0)} is not a Unicode scalar value")
    return chr(code)


def normalise(text: str) -> str:
    """The request text both parsers will see (see the module docstring); :class:`Unacceptable` if invalid."""
    for _ in range(8):  # each pass shortens the text; real queries need at most one
        expanded = _ESCAPE.sub(_expand, text)
        if expanded == text:
            break
        text = expanded
    else:
        raise Unacceptable(400, "SPARQL syntax error: codepoint escapes nested more than 8 deep")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def code_segments(text: str) -> list[str]:
    """The parts of ``text`` outside strings, IRIs and comments (as the SPARQL grammar lexes them)."""
    segments, position = [], 0
    for match in _TOKENS.finditer(text):
        segments.append(text[position:match.start()])
        position = match.end()
    segments.append(text[position:])
    return segments


def screen(text: str) -> None:
    """Refuse (403) a ``SERVICE``/``LOAD`` keyword and (400) nesting deeper than :data:`MAX_NESTING`."""
    depth = deepest = 0
    for segment in code_segments(text):
        found = _KEYWORD.search(segment)
        if found:
            raise Unacceptable(403, REFUSALS[found.group(1).upper()])
        for char in segment:
            if char in _OPENERS:
                depth += 1
                deepest = max(deepest, depth)
            elif char in _CLOSERS:
                depth -= 1
    if deepest > MAX_NESTING:
        raise Unacceptable(400, f"the query is nested {deepest} deep; the server answers up to {MAX_NESTING}")
