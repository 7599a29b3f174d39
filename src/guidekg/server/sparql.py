"""SPARQL requests, checked then executed on a pyoxigraph store (runs inside a worker process).

Why pyoxigraph: on the served dataset it answers the project's queries one to two orders of
magnitude faster than rdflib (see the report in ``benchmarks/load_server.py``), and its
results are lazy iterators, so the result-size limits stop a query after ``limit + 1``
rows or past the byte limit. It has no time limit of its own; the pool (:mod:`.pool`)
enforces one by killing the worker process.

One text decides and executes: the request is first normalised (:func:`.guard.normalise`),
and that normalised text is both the one checked and the one pyoxigraph runs. It is
checked twice: rdflib parses it and the SPARQL algebra is walked for ``SERVICE`` (federated
query) and ``LOAD`` (remote fetch) -- found in a nested group, an update's ``WHERE`` or a
``FILTER EXISTS``, while a literal holding the word is not refused -- and
:func:`.guard.screen` lexes it for the bare keywords, independently of either parser. The
rdflib parse also yields the syntax error position and the query's dataset clause.

Dataset (SPARQL 1.1 Protocol §2.1.4): ``default-graph-uri``/``named-graph-uri`` in the
request win over ``FROM``/``FROM NAMED`` in the query; with neither, the default graph is
the union of all graphs and every named graph can be queried.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox
from pyparsing import ParseException
from rdflib.plugins.sparql.algebra import translateQuery, translateUpdate
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from ..namespaces import PREFIXES
from .guard import REFUSALS, Unacceptable, normalise, screen
from .results import GRAPH_TYPES, RESULT_TYPES, NotAcceptable, TooLarge, ask_result, graph_result, negotiate, select_results, take

FORBIDDEN = {"ServiceGraphPattern": REFUSALS["SERVICE"], "Load": REFUSALS["LOAD"]}
"""Algebra nodes that would make the server fetch from the network; always refused."""


@dataclass(frozen=True)
class Reply:
    """An HTTP answer computed in a worker (picklable, so it crosses the process boundary)."""

    status: int
    media_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, status: int, message: str) -> Reply:
        return cls(status, "text/plain; charset=utf-8", (message.rstrip("\n") + "\n").encode("utf-8"))


@dataclass(frozen=True)
class QueryRequest:
    query: str
    accept: str | None = None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpdateRequest:
    update: str


@dataclass(frozen=True)
class Checked:
    """A query that may run: its form, the normalised text to execute, and whether it names a dataset."""

    form: str
    text: str
    has_dataset: bool


class Rejected(Exception):
    """A request refused before execution; carries the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _excerpt(line: str, col: int, width: int = 120) -> tuple[str, int]:
    """At most ``width`` characters of ``line`` around column ``col`` (1-based), and the column in it."""
    start = max(0, col - 1 - width // 2)
    return line[start:start + width], col - start


def _syntax_error(exc: ParseException) -> Rejected:
    line, col = _excerpt(exc.line, exc.col)
    pointer = " " * max(col - 1, 0) + "^"
    return Rejected(400, f"SPARQL syntax error at line {exc.lineno}, column {exc.col}: {exc.msg}\n{line}\n{pointer}")


def _find_forbidden(node: object) -> str | None:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name in FORBIDDEN:
                return FORBIDDEN[item.name]
            stack.extend(item.values())
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
    return None


class _ByteBoundCache:
    """Check outcomes by query text, bounded by the bytes of the texts and answers it holds.

    Only texts up to ``max_item`` characters are kept, so a flood of distinct large invalid
    queries costs no memory; the least recently used entries go first.
    """

    def __init__(self, max_bytes: int = 4 * 1024 * 1024, max_item: int = 16 * 1024) -> None:
        self.max_bytes, self.max_item, self.size = max_bytes, max_item, 0
        self._items: OrderedDict[str, tuple[Checked | Rejected, int]] = OrderedDict()

    def get(self, text: str) -> Checked | Rejected | None:
        found = self._items.get(text)
        if found is None:
            return None
        self._items.move_to_end(text)
        return found[0]

    def put(self, text: str, outcome: Checked | Rejected) -> None:
        cost = len(text) + (len(outcome.message) if isinstance(outcome, Rejected) else len(outcome.text))
        if len(text) > self.max_item or text in self._items:
            return
        self._items[text] = (outcome, cost)
        self.size += cost
        while self.size > self.max_bytes:
            _, (_, old) = self._items.popitem(last=False)
            self.size -= old


CHECKS = _ByteBoundCache()


def _check(text: str, parse, translate) -> CompValue:
    try:
        screen(text)
        return translate(parse(text))
    except Unacceptable as exc:
        raise Rejected(exc.status, str(exc)) from exc
    except ParseException as exc:
        raise _syntax_error(exc) from exc
    except RecursionError as exc:
        raise Rejected(400, "the query is nested too deeply for this server to parse") from exc
    except Exception as exc:  # rdflib raises plain Exceptions for e.g. an undeclared prefix
        raise Rejected(400, f"SPARQL error: {str(exc)[:500]}") from exc


def check_query(text: str) -> Checked:
    """The normalised query and its form, or :class:`Rejected` (400 malformed, 403 federated)."""
    found = CHECKS.get(text)
    if found is None:
        try:
            normalised = normalise(text)
            query = _check(normalised, parseQuery, translateQuery)
            refusal = _find_forbidden(query.algebra)
            if refusal:
                raise Rejected(403, refusal)
            found = Checked(query.algebra.name, normalised, bool(query.algebra.get("datasetClause")))
        except Unacceptable as exc:
            found = Rejected(exc.status, str(exc))
        except Rejected as exc:
            found = exc
        CHECKS.put(text, found)
    if isinstance(found, Rejected):
        raise found
    return found


def check_update(text: str) -> str:
    """The normalised update, or :class:`Rejected` for a malformed update or one that loads or federates."""
    try:
        normalised = normalise(text)
    except Unacceptable as exc:
        raise Rejected(exc.status, str(exc)) from exc
    update = _check(normalised, parseUpdate, translateUpdate)
    refusal = _find_forbidden(update.algebra)
    if refusal:
        raise Rejected(403, refusal)
    return normalised


def _graphs(iris: Iterable[str]) -> list[ox.NamedNode]:
    try:
        return [ox.NamedNode(iri) for iri in iris]
    except ValueError as exc:
        raise Rejected(400, f"invalid graph IRI: {exc}") from exc


def dataset_options(request: QueryRequest, has_dataset: bool) -> dict[str, object]:
    """pyoxigraph's dataset arguments under the Protocol's rules (see the module docstring)."""
    if request.default_graphs or request.named_graphs:
        return {"default_graph": _graphs(request.default_graphs), "named_graphs": _graphs(request.named_graphs)}
    if has_dataset:
        return {}  # pyoxigraph applies the query's own FROM / FROM NAMED
    return {"use_default_graph_as_union": True}


def execute_query(store: ox.Store, request: QueryRequest, max_results: int, max_bytes: int | None = None) -> Reply:
    """Run one query under the result-size limits; the answer in the negotiated format."""
    try:
        checked = check_query(request.query)
        form = checked.form
        graph_form = form in ("ConstructQuery", "DescribeQuery")
        media = negotiate(request.accept, list(GRAPH_TYPES if graph_form else RESULT_TYPES))
        result = store.query(checked.text, **dataset_options(request, checked.has_dataset))
        content_type = media + ("; charset=utf-8" if media.startswith("text/") else "")
        if form == "AskQuery":
            return Reply(200, content_type, ask_result(bool(result), RESULT_TYPES[media]))
        rows, more = take(result, max_results, max_bytes)
        if more:
            unit = "triples" if graph_form else "rows"
            return Reply.text(422, f"the result has more than {max_results} {unit}, the server's limit "
                                   "(--max-results); add LIMIT or narrow the query")
        headers = {"X-Result-Count": str(len(rows))}
        if graph_form:
            body = graph_result(rows, media, PREFIXES)
        else:
            variables = [v.value for v in result.variables]
            body = select_results(variables, [tuple(r) for r in rows], RESULT_TYPES[media])
        if max_bytes is not None and len(body) > max_bytes:
            raise TooLarge(f"the result is larger than {max_bytes} bytes, the server's limit (--max-response-bytes)")
        return Reply(200, content_type, body, headers)
    except Rejected as exc:
        return Reply.text(exc.status, exc.message)
    except NotAcceptable as exc:
        return Reply.text(406, str(exc))
    except TooLarge as exc:
        return Reply.text(422, str(exc))
    except SyntaxError as exc:
        return Reply.text(400, f"SPARQL syntax error: {str(exc)[:500]}")
    except (OSError, RuntimeError) as exc:
        return Reply.text(422, f"the query could not be evaluated: {str(exc)[:500]}")


def execute_update(store: ox.Store, request: UpdateRequest) -> Reply:
    try:
        text = check_update(request.update)
        store.update(text)
    except Rejected as exc:
        return Reply.text(exc.status, exc.message)
    except SyntaxError as exc:
        return Reply.text(400, f"SPARQL syntax error: {str(exc)[:500]}")
    except (OSError, RuntimeError) as exc:
        return Reply.text(422, f"the update could not be applied: {str(exc)[:500]}")
    return Reply(204, "text/plain", b"")


def deepen_stack() -> None:
    """Let the parser follow queries nested a few hundred deep (a worker calls this once)."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 30_000))
