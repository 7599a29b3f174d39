"""The query guard (server/guard.py) tested directly, without a live server: tests that kill mutmut survivors.

The live-server tests (test_server_sparql, test_security) prove the refusals end to end but cost
seconds each and reach the guard through the rdflib algebra check as well, so a guard mutant
hides behind that second check. Here each check stands alone: the normalisation both parsers
see, the lexer's notion of a string/IRI/comment, the keyword match and the nesting bound, and
the algebra walk of :mod:`.sparql` on its own. Expectations are written by hand from SPARQL 1.1
(§19.2 codepoint escapes, §19.6 comments, §19.8 grammar tokens).
"""

from __future__ import annotations

import pytest

from guidekg.server.guard import MAX_NESTING, Unacceptable, code_segments, normalise, screen

SERVICE = "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"


def nested_escape(levels: int) -> str:
    r"""'S' written as a codepoint escape ``levels`` deep: \u0053, \u005Cu0053, \u005Cu005Cu0053, ..."""
    return "\\" + "u005C" * (levels - 1) + "u0053"


def refused(text: str) -> int | None:
    """The HTTP status the guard answers for ``text`` (normalised then screened), or None if it passes."""
    try:
        screen(normalise(text))
    except Unacceptable as exc:
        return exc.status
    return None


# normalise ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("\\u0053ERVICE", "SERVICE"),
    ("\\U00000053ERVICE", "SERVICE"),
    ("\\u006c\\u006F\\u0061\\u0064", "load"),
    ("a\r\nb\rc\nd", "a\nb\nc\nd"),
    ("\\u000D", "\n"),  # an escaped CR is a line end too, once expanded
    ("no escape here", "no escape here"),
])
def test_normalise_expands_escapes_and_line_ends(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize("levels", [1, 2, 7])
def test_nested_escapes_up_to_seven_deep_are_expanded(levels):
    assert normalise(nested_escape(levels) + "ERVICE") == "SERVICE"


def test_escapes_nested_eight_deep_are_refused():
    with pytest.raises(Unacceptable) as error:
        normalise(nested_escape(8))
    assert error.value.status == 400 and "more than 8" in str(error.value)


@pytest.mark.parametrize("escape", ["\\uD800", "\\uDBFF", "\\uDC00", "\\uDFFF", "\\U00110000", "\\UFFFFFFFF"])
def test_escapes_that_are_not_unicode_scalar_values_are_400(escape):
    with pytest.raises(Unacceptable) as error:
        normalise(f"SELECT * WHERE {{ ?s ?p '{escape}' }}")
    assert error.value.status == 400 and escape in str(error.value)


@pytest.mark.parametrize("escape,char", [("\\uD7FF", "\ud7ff"), ("\\uE000", "\ue000"), ("\\U0010FFFF", "\U0010ffff"),
                                         ("\\u0000", "\x00")])
def test_escapes_at_the_edges_of_the_scalar_values_are_expanded(escape, char):
    assert normalise(escape) == char


# screen: the keywords -----------------------------------------------------------------------

@pytest.mark.parametrize("text,status", [
    (SERVICE, 403),
    ("LOAD <http://example.org/data.ttl>", 403),
    ("load <http://example.org/data.ttl>", 403),
    ("SELECT * { Service <http://x/> { ?s ?p ?o } }", 403),
    ("SELECT * { ?s ?p 'a' SERVICE <http://x/> { ?s ?p ?o } }", 403),  # after a string, code again
    ("SELECT * { ?s ?p <http://x/a> SERVICE <http://x/> {} }", 403),  # after an IRI
    ("# comment\nSERVICE <http://x/> {}", 403),  # a comment ends at the line end
    ("# comment\rSERVICE <http://x/> {}", 403),  # ... also a bare CR (normalised)
    ("SELECT * {}#\\u000D\\u0053ERVICE <http://x/> {}", 403),  # an escaped CR and S, expanded first
    ("SELECT * { ?s ?p '''a\n'''SERVICE <http://x/> {} }", 403),
    ('SELECT * { ?s ?p """a\n"""SERVICE <http://x/> {} }', 403),
    ("SELECT * {(SERVICE)}", 403),
    ("SELECT * WHERE { ?s ?p 'SERVICE' }", None),
    ('SELECT * WHERE { ?s ?p "LOAD" }', None),
    ("SELECT * WHERE { ?s ?p '''multi\nline SERVICE''' }", None),
    ('SELECT * WHERE { ?s ?p """multi\nline LOAD""" }', None),
    ("SELECT * WHERE { ?s ?p 'it\\'s SERVICE' }", None),  # an escaped quote does not end the string
    ('SELECT * WHERE { ?s ?p "say \\"LOAD\\"" }', None),
    ("SELECT * WHERE { ?s <http://example.org/SERVICE> ?o }", None),
    ("SELECT * WHERE { ?s ?p ?o } # SERVICE <http://x/> in a comment", None),
    ("SELECT ?SERVICE ?load $LOAD WHERE { ?SERVICE ex:SERVICE ?load }", None),  # variables, a local name
    ("SELECT * WHERE { ?s ex:LOAD ?o . ?s SERVICE:x ?o }", None),  # as a local name and as a prefix
    ("SELECT * WHERE { ?s ?p 'x'@SERVICE }", None),  # a language tag
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 1 # SERVICEs", None),
    ("SELECT * WHERE { ?s ?p ?o . ?s ?p ?SERVICES . ?s ?p ?myLOAD . ?s ?p ?LOAD_x . ?s ?p ?LOAD-x }", None),
    ("SELECT * WHERE { ?s ?p ?o FILTER(?o = SERVICEX) }", None),
    ("SELECT * WHERE { ?s ?p ?o FILTER(?o = XSERVICE) }", None),
])
def test_only_a_bare_keyword_in_code_is_refused(text, status):
    assert refused(text) == status


def test_refusals_name_the_keyword():
    for text, word in ((SERVICE, "SERVICE"), ("LOAD <http://x/>", "LOAD")):
        with pytest.raises(Unacceptable) as error:
            screen(text)
        assert word in str(error.value) and "not allowed" in str(error.value)


def test_code_segments_leave_out_strings_iris_and_comments():
    text = "A 'b' C \"d\" E <http://f/> G # h\nI '''j\n''' K \"\"\"l\"\"\" M"
    assert [s.strip() for s in code_segments(text)] == ["A", "C", "E", "G", "I", "K", "M"]


def test_an_unclosed_string_or_iri_is_not_a_place_to_hide_a_keyword():
    # a quote or '<' that never closes is not a token, so what follows is code
    assert refused("SELECT * { ?s ?p 'open SERVICE <http://x/> {} }") == 403
    assert refused("SELECT * { ?s ?p \"open\nSERVICE <http://x/> {} }") == 403
    assert refused("SELECT * { ?s ?p ?o FILTER(?o < 3) SERVICE <http://x/> {} }") == 403


# screen: nesting ----------------------------------------------------------------------------

@pytest.mark.parametrize("opener,closer", [("(", ")"), ("{", "}"), ("[", "]")])
def test_nesting_up_to_the_limit_passes_and_one_more_is_400(opener, closer):
    assert refused(opener * MAX_NESTING + closer * MAX_NESTING) is None
    too_deep = opener * (MAX_NESTING + 1) + closer * (MAX_NESTING + 1)
    with pytest.raises(Unacceptable) as error:
        screen(too_deep)
    assert error.value.status == 400 and f"nested {MAX_NESTING + 1} deep" in str(error.value)


def test_the_limit_is_two_hundred():
    assert MAX_NESTING == 200


def test_nesting_is_depth_not_count():
    # three groups 150 deep one after the other, mixed brackets: deepest 150, not 450
    group = "{(" * 75 + ")}" * 75
    assert refused(group * 3) is None


def test_a_closing_bracket_takes_off_exactly_one_level():
    # two open, one closed, 250 times: 251 deep at the end. A closer that reset the depth (mutant 'depth = 1')
    # or took off two levels ('depth -= 2') let this through
    text = "((" + ")((" * 249 + ")" * 251
    with pytest.raises(Unacceptable) as error:
        screen(text)
    assert error.value.status == 400 and "nested 251 deep" in str(error.value)


def test_brackets_in_strings_iris_and_comments_do_not_nest():
    text = "SELECT * { ?s ?p '" + "(" * 300 + "' . ?s ?p <http://x/" + "(" * 300 + "> } # " + "[" * 300
    assert refused(text) is None


def test_letters_are_not_brackets():
    assert refused("SELECT ?" + "X" * 500 + " WHERE { ?s ?p ?o }") is None
    # ... neither opening nor closing one: letters before a too-deep nesting must not hide it
    assert refused("SELECT ?" + "X" * 300 + " WHERE " + "{" * 201 + "}" * 201) == 400


# sparql.py's algebra walk on its own (the guard's second, independent check) --------------------

@pytest.mark.parametrize("text,word", [
    (SERVICE, "SERVICE"),
    ("SELECT * WHERE { ?s ?p ?o OPTIONAL { SERVICE SILENT <http://x/> { ?s ?p ?o } } }", "SERVICE"),
    ("SELECT * WHERE { ?s ?p ?o FILTER EXISTS { SERVICE <http://x/> { ?s ?p ?o } } }", "SERVICE"),
])
def test_the_algebra_walk_finds_service_without_the_lexer(text, word):
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    from guidekg.server.sparql import _find_forbidden

    assert word in _find_forbidden(translateQuery(parseQuery(text)).algebra)


@pytest.mark.parametrize("text,word", [
    ("LOAD <http://example.org/data.ttl>", "LOAD"),
    ("INSERT { ?s ?p ?o } WHERE { SERVICE <http://x/> { ?s ?p ?o } }", "SERVICE"),
])
def test_the_algebra_walk_finds_load_and_service_in_updates(text, word):
    from rdflib.plugins.sparql.algebra import translateUpdate
    from rdflib.plugins.sparql.parser import parseUpdate

    from guidekg.server.sparql import _find_forbidden

    assert word in _find_forbidden(translateUpdate(parseUpdate(text)).algebra)


def test_the_algebra_walk_passes_a_plain_query():
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    from guidekg.server.sparql import _find_forbidden

    text = "SELECT * WHERE { ?s ?p 'SERVICE' OPTIONAL { ?s <http://x/LOAD> ?o } FILTER EXISTS { ?s ?p ?o } }"
    assert _find_forbidden(translateQuery(parseQuery(text)).algebra) is None


# sandbox.py: the opt-out and the failure paths (each probe in its own process: a wrong answer may unshare it) ----

def _isolate(env_extra: dict[str, str], prelude: str = "") -> str:
    import os
    import subprocess
    import sys

    probe = f"{prelude}\nfrom guidekg.server.sandbox import isolate_network\nprint(isolate_network())"
    env = {k: v for k, v in os.environ.items() if k != "GUIDEKG_NO_SANDBOX"} | env_extra
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_the_sandbox_opt_out_is_honoured_and_reported():
    # GUIDEKG_NO_SANDBOX: the worker keeps the network and /health must not claim isolation
    assert _isolate({"GUIDEKG_NO_SANDBOX": "1"}) == "False"


def test_no_isolation_is_claimed_off_linux():
    assert _isolate({}, "import sys; sys.platform = 'darwin'") == "False"


def test_no_isolation_is_claimed_without_libc():
    prelude = "import ctypes\ndef _missing(*a, **k):\n    raise OSError('no libc')\nctypes.CDLL = _missing"
    assert _isolate({}, prelude) == "False"
