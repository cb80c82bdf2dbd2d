"""kg fmt: lossless, comment-keeping, deterministic Turtle formatting (kg/turtle/) and its command."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, Literal, Namespace
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from kg.config import DEFAULT_ONTOLOGY_DIR, PROJECT_ROOT, Settings
from kg.tools import fmt
from kg.turtle import formatter
from kg.turtle.errors import TurtleError
from kg.turtle.formatter import BASE_IRI, format_turtle
from kg.turtle.syntax import Document
from kg.turtle.tokens import decode_string, quote_string, tokenize

MODULES = sorted(DEFAULT_ONTOLOGY_DIR.rglob("*.ttl"))

# Odd whitespace, predicates out of order and repeated, several objects, nested restrictions, a
# collection, a multi-line string, a SHACL property shape, PREFIX and @prefix out of order, comments in
# and between statements.
MESSY = r'''# messy.ttl: a hand-written module.
# Second header line.
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
@prefix ex:   <https://example.org/ns#> .
@prefix owl:<http://www.w3.org/2002/07/owl#>.
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix kg: <https://w3id.org/kg/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .



####################
# Findings
####################
kg:thing    rdfs:label 'A thing' ;skos:notation "thing";   a owl:Class;
  rdfs:subClassOf kg:B , kg:A,kg:A ; # two parents
     ex:note """first line
second line with "quotes\"""" , "line\nbreak";
  # the restriction
  rdfs:subClassOf [ owl:hasValue kg:emergent ; a owl:Restriction ; owl:onProperty kg:hasUrgency ] , [ a owl:Restriction ; owl:onProperty kg:hasCondition ; owl:hasValue kg:c ] ;
  ex:weight 1.50 , -2 , true , 3e10 ;  # mixed literals
  ex:tag "x"@en-GB, 'it\'s'^^<http://www.w3.org/2001/XMLSchema#string> ;
  dcterms:source ex:s2, ex:s1 .
[ a owl:Class ; owl:intersectionOf ( kg:Presentation [ owl:someValuesFrom kg:X ; a owl:Restriction ;  owl:onProperty kg:hasFinding ] [ a owl:Restriction ; owl:onProperty kg:hasFinding ; owl:someValuesFrom [ owl:unionOf ( kg:c kg:a kg:b ) ] ] ) ] rdfs:subClassOf kg:thing .

ex:Shape sh:property [ sh:message "one p" ; sh:path ex:p ; sh:maxCount 1 ; sh:minCount 1 ] ; a sh:NodeShape ; sh:targetClass kg:thing .
ex:list ex:members ( ex:c ex:b "z" 7 ) ; ex:empty ( ) , [ ] .   # trailing after the dot
# end of file
'''  # noqa: E501 (the long line is the point)

# Written by hand from the rules in kg/turtle/__init__.py's docstring.
EXPECTED = r'''# messy.ttl: a hand-written module.
# Second header line.

@prefix kg:      <https://w3id.org/kg/> .
@prefix owl:     <http://www.w3.org/2002/07/owl#> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos:    <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix ex:      <https://example.org/ns#> .
@prefix sh:      <http://www.w3.org/ns/shacl#> .

####################
# Findings
####################
kg:thing a owl:Class ;
    # two parents
    # the restriction
    rdfs:subClassOf kg:A, kg:B,
        [ a owl:Restriction ; owl:onProperty kg:hasUrgency ; owl:hasValue kg:emergent ],
        [ a owl:Restriction ; owl:onProperty kg:hasCondition ; owl:hasValue kg:c ] ;
    skos:notation "thing" ;
    rdfs:label "A thing" ;
    ex:note """first line
second line with "quotes\"""", """line
break""" ;
    ex:tag "it's"^^<http://www.w3.org/2001/XMLSchema#string>, "x"@en-GB ;
    ex:weight -2, 1.50, 3e10, true ;  # mixed literals
    dcterms:source ex:s1, ex:s2 .
[ a owl:Class ; owl:intersectionOf ( kg:Presentation
    [ a owl:Restriction ; owl:onProperty kg:hasFinding ; owl:someValuesFrom kg:X ]
    [ a owl:Restriction ;
      owl:onProperty kg:hasFinding ;
      owl:someValuesFrom [ owl:unionOf ( kg:c kg:a kg:b ) ] ] ) ]
    rdfs:subClassOf kg:thing .

ex:Shape a sh:NodeShape ;
    sh:targetClass kg:thing ;
    sh:property [ sh:path ex:p ;
                  sh:maxCount 1 ;
                  sh:minCount 1 ;
                  sh:message "one p" ] .
ex:list ex:empty [], () ;  # trailing after the dot
    ex:members ( ex:c ex:b "z" 7 ) .
# end of file
'''

BROKEN = '@prefix ex: <https://example.org/ns#> .\n\nex:a ex:label "no end .\nex:b ex:p ex:c .\n'


def graph(text: str) -> Graph:
    return Graph().parse(data=text, format="turtle", publicID=BASE_IRI)


def comment_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.lstrip().startswith("#")]


def statement_starts(text: str) -> list[str]:
    """The first word of each line at column 0 that is no comment or directive: one per statement."""
    return [
        line.split()[0]
        for line in text.splitlines()
        if line[:1] not in ("", " ", "\t", "#", "@") and not line.upper().startswith(("PREFIX", "BASE"))
    ]


@cache
def formatted_module(path: Path) -> str:
    return format_turtle(path.read_text(encoding="utf-8"))


# --- the shipped modules (read only) ------------------------------------------------------------------


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(DEFAULT_ONTOLOGY_DIR)))
def test_a_shipped_module_formats_losslessly_and_keeps_its_comments_and_order(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    out = formatted_module(path)
    assert isomorphic(graph(text), graph(out))
    assert comment_lines(out) == comment_lines(text)  # every comment line, in its order
    assert statement_starts(out) == statement_starts(text)  # the author's statement order
    assert format_turtle(out) == out  # idempotent
    assert all(line == line.rstrip() for line in out.splitlines())
    assert path.read_text(encoding="utf-8") == text  # formatting reads, never writes


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(DEFAULT_ONTOLOGY_DIR)))
def test_the_shipped_ontology_is_kept_formatted(path: Path) -> None:
    """Every shipped module is as ``kg fmt`` writes it: run ``kg fmt`` after an edit."""
    assert formatted_module(path) == path.read_text(encoding="utf-8")


def test_a_shipped_module_keeps_its_prefix_block() -> None:
    path = DEFAULT_ONTOLOGY_DIR / "core.ttl"
    text, out = path.read_text(encoding="utf-8"), formatted_module(path)
    prefixes = [line for line in text.splitlines() if line.startswith("@prefix")]
    assert [line for line in out.splitlines() if line.startswith("@prefix")] == prefixes
    assert out.split("\n\n")[0] == text.split("\n\n")[0]  # the file header


# --- the rules ----------------------------------------------------------------------------------------


def test_a_messy_snippet_formats_to_the_expected_text() -> None:
    assert format_turtle(MESSY) == EXPECTED
    assert format_turtle(EXPECTED) == EXPECTED


def test_comments_inside_a_statement_move_with_their_predicate() -> None:
    text = """@prefix ex: <https://example.org/ns#> .  # the examples
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:a # after the subject
    rdfs:label "a" ;
    # the kind
    ex:kind ex:k ; # trailing
    a owl:Class ;  # the type
    rdfs:comment "c" ;
    ex:nested [ # in a bnode
        ex:p ex:q ] .
[ # in a subject
  ex:p ex:o ] ex:q ex:z . # after the dot
"""
    expected = """# the examples

@prefix owl:  <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ex:   <https://example.org/ns#> .

# after the subject
ex:a a owl:Class ;  # the type
    rdfs:label "a" ;
    rdfs:comment "c" ;
    # the kind
    ex:kind ex:k ;  # trailing
    ex:nested [ ex:p ex:q ] .  # in a bnode
# in a subject
[ ex:p ex:o ]
    ex:q ex:z .  # after the dot
"""
    assert format_turtle(text) == expected
    assert format_turtle(expected) == expected


def test_blank_lines_collapse_and_a_header_without_prefixes_stays_on_top() -> None:
    text = "\n\n# header\n\n\n\n# about a\n<https://x/a>   <https://x/p> <https://x/b>  .\n\n\n# end\n\n"
    expected = "# header\n\n# about a\n<https://x/a> <https://x/p> <https://x/b> .\n\n# end\n"
    assert format_turtle(text) == expected


def test_known_predicates_are_ordered_by_iri_whatever_their_prefix() -> None:
    text = """@prefix d: <http://purl.org/dc/terms/> .
@prefix ex: <https://example.org/ns#> .
ex:a d:source ex:s ; ex:zeta 1 ; <http://www.w3.org/2000/01/rdf-schema#label> "a" ; ex:alpha 2 ;
    <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> ex:C .
"""
    expected = """@prefix d:  <http://purl.org/dc/terms/> .
@prefix ex: <https://example.org/ns#> .

ex:a <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> ex:C ;
    <http://www.w3.org/2000/01/rdf-schema#label> "a" ;
    ex:alpha 2 ;
    ex:zeta 1 ;
    d:source ex:s .
"""
    assert format_turtle(text) == expected


def test_terms_are_kept_as_written_and_strings_are_requoted() -> None:
    text = (
        "@prefix ex: <https://example.org/ns#> .\n"
        "ex:a.b ex:p ex:c.d, 1, .5, 1.0e3, +3, false, '''long but one line''', \"\"\"two\nlines\"\"\", "
        '\'tab\\there\', "\\u00e9\\U0001F600 ☢", """ends with a quote\n""\\"""" , '
        '"# no comment"@en, "1"^^<http://www.w3.org/2001/XMLSchema#integer>, _:b1 .\n'
    )
    out = format_turtle(text)
    assert out == (
        "@prefix ex: <https://example.org/ns#> .\n\n"
        "ex:a.b ex:p ex:c.d, _:b1, "
        '"""ends with a quote\n\\"\\"\\"""", """two\nlines""", '  # a quote before a quote, or last: \"
        '"# no comment"@en, "1"^^<http://www.w3.org/2001/XMLSchema#integer>, "long but one line", '
        '"tab\\there", "é😀 ☢", +3, .5, 1, 1.0e3, false .\n'
    )
    assert isomorphic(graph(text), graph(out))


def test_base_and_sparql_style_prefixes() -> None:
    text = "PREFIX ex: <https://example.org/ns#>\nBASE <https://example.org/base/>\nex:a ex:p <b> .\n"
    expected = (
        "@base <https://example.org/base/> .\n@prefix ex: <https://example.org/ns#> .\n\nex:a ex:p <b> .\n"
    )
    assert format_turtle(text) == expected


def test_tokens() -> None:
    text = (
        "<http://x/a#b> ex:a.b. 1. .5 -2.5e-3 'a#b' '''x''' "
        '"""a""b""" "q\\""@en-GB ^^ # c\n[ ] ( ) ; ,'
    )
    tokens = [(t.kind, t.text) for t in tokenize(text)]
    assert tokens == [
        ("iri", "<http://x/a#b>"),
        ("pname", "ex:a.b"),
        ("punct", "."),
        ("number", "1"),
        ("punct", "."),
        ("number", ".5"),
        ("number", "-2.5e-3"),
        ("string", "'a#b'"),
        ("string", "'''x'''"),
        ("string", '"""a""b"""'),
        ("string", '"q\\""'),
        ("at", "@en-GB"),
        ("punct", "^^"),
        ("comment", "# c"),
        ("punct", "["),
        ("punct", "]"),
        ("punct", "("),
        ("punct", ")"),
        ("punct", ";"),
        ("punct", ","),
    ]
    comment = tokenize("ex:a # trailing\n  # own line\n")
    assert [(t.text, t.line, t.own_line) for t in comment[1:]] == [
        ("# trailing", 1, False),
        ("# own line", 2, True),
    ]


@given(st.text(alphabet=st.sampled_from(list("ab \"'\\\n\r\t#.;é☢\x00\x7f")), max_size=12))
def test_a_string_value_survives_quoting(value: str) -> None:
    quoted = quote_string(value)
    tokens = tokenize(quoted)
    assert [t.kind for t in tokens] == ["string"]
    assert decode_string(tokens[0].text, 1) == value
    assert quoted.startswith('"""') == ("\n" in value)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (BROKEN, 3, "unterminated"),
        ("@prefix ex: <https://x/> .\nex:a ex:p ex:b\nex:c ex:p ex:d .\n", 3, "expected ','"),
        ("@prefix ex: <https://x/> .\n\n\nzz:a ex:p ex:b .\n", 4, 'Prefix "zz:" not bound'),
        ("@prefix ex: <https://x/> .\nex:a ex:p ex:b .\n@prefix ex: <https://y/> .\n", 3, "declared again"),
        ("@prefix ex: <https://x/> .\nex:a ex:p ex:b .\n@base <https://y/> .\n", 3, "@base"),
        ("@prefix ex: <https://x/> .\nex:a ex:p [ ex:q ex:r ", 2, "end of the file"),
        ('@prefix ex: <https://x/> .\nex:a ex:p "\\q" .\n', 2, "invalid escape"),
        ("@prefix ex: <https://x/> .\nex:a .\n", 2, "expected a predicate"),
        ("@prefix ex: <https://x/> .\n{ ex:a ex:p ex:b } ex:q ex:c .\n", 2, "unexpected character '{'"),
        ("<https://x/a> <https://x/p> " + "[ <https://x/p> " * 2000 + "1" + " ]" * 2000 + " .", 1, "deeply"),
    ],
)
def test_bad_input_is_an_error_naming_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(TurtleError) as raised:
        format_turtle(text)
    assert raised.value.line == line
    assert words in str(raised.value) and str(raised.value).startswith(f"line {line}: ")


def test_a_result_that_is_not_isomorphic_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    write = formatter.write_document

    def lossy(document: Document) -> str:
        document.statements = document.statements[:-1]
        return write(document)

    monkeypatch.setattr(formatter, "write_document", lossy)
    with pytest.raises(TurtleError, match="not isomorphic"):
        format_turtle(MESSY)


def test_the_output_does_not_depend_on_the_hash_seed() -> None:
    path = DEFAULT_ONTOLOGY_DIR / "low-back-pain.ttl"
    script = (
        "import sys; from kg.turtle.formatter import format_turtle\n"
        "for text in sys.stdin.read().split('\\0'): sys.stdout.write(format_turtle(text) + '\\0')"
    )
    stdin = MESSY + "\0" + path.read_text(encoding="utf-8")
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(PROJECT_ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", script], input=stdin, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == EXPECTED + "\0" + formatted_module(path) + "\0"


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_comments_anywhere_are_kept_and_formatting_stays_idempotent(data: st.DataObject) -> None:
    """MESSY's tokens with comments put between them at random, at the end of a line or on their own."""
    tokens = [token for token in tokenize(MESSY) if token.kind != "comment"]
    parts, inserted = [], []
    for index, token in enumerate(tokens):
        parts.append(token.text)
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if following is not None and (following.kind == "at" or "^^" in (following.text, token.text)):
            continue  # a literal's language or datatype follows it directly
        where = data.draw(st.sampled_from(["", "", "", "end", "own"]))
        if where:
            inserted.append(f"# c{len(inserted)}")
            parts.append(f" {inserted[-1]}\n" if where == "end" else f"\n{inserted[-1]}\n")
        else:
            parts.append(" ")
    out = format_turtle("".join(parts))
    assert sorted(re.findall(r"# c[0-9]+", out)) == sorted(inserted)
    assert format_turtle(out) == out


# --- random graphs ------------------------------------------------------------------------------------

EX = Namespace("https://example.org/ns#")
IRIS = st.sampled_from(
    [EX.a, EX.b, EX.c, EX["d.e"], RDF.type, RDFS.label, RDFS.subClassOf, OWL.Class, SKOS.notation]
)
TEXT = st.text(alphabet=st.sampled_from(list("ab \"'\\\n\t#.;,[]()<>@é☢")), max_size=10)
LITERALS = st.one_of(
    TEXT.map(Literal),
    st.tuples(TEXT, st.sampled_from(["en", "en-GB"])).map(lambda pair: Literal(pair[0], lang=pair[1])),
    st.integers(-1000, 1000).map(Literal),
    st.booleans().map(Literal),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(Literal),
)


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    """Small graphs with shared and nested blank nodes, literals of every kind and collections."""
    nodes = [BNode() for _ in range(draw(st.integers(0, 4)))]
    subjects = st.one_of(IRIS, st.sampled_from(nodes)) if nodes else IRIS
    objects = st.one_of(IRIS, LITERALS, st.sampled_from(nodes)) if nodes else st.one_of(IRIS, LITERALS)
    g = Graph()
    for _ in range(draw(st.integers(1, 8))):
        g.add((draw(subjects), draw(IRIS), draw(objects)))
    for _ in range(draw(st.integers(0, 2))):
        head = BNode()
        Collection(g, head, draw(st.lists(objects, max_size=3)))
        g.add((draw(subjects), draw(IRIS), head))
    return g


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_graphs_serialized_by_rdflib_format_losslessly_and_idempotently(g: Graph) -> None:
    text = g.serialize(format="turtle")
    out = format_turtle(text)
    assert isomorphic(graph(out), graph(text))
    assert format_turtle(out) == out


# --- kg fmt -------------------------------------------------------------------------------------------


def kg_fmt(capsys: pytest.CaptureFixture[str], ontology: Path, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    fmt.add_arguments(parser)
    code = fmt.run(parser.parse_args(list(argv)), Settings(ontology_dir=ontology, cache_dir=None))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(root: Path) -> dict[Path, tuple[bytes, int, int]]:
    return {
        path: (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_ino)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def ontology(tmp_path: Path) -> Path:
    """A copy of the shipped modules with a messy module in a shapes/ subfolder."""
    root = tmp_path / "ontology"
    root.mkdir()
    for path in DEFAULT_ONTOLOGY_DIR.glob("*.ttl"):
        shutil.copy(path, root / path.name)
    (root / "shapes").mkdir()
    (root / "shapes" / "messy.ttl").write_text(MESSY, encoding="utf-8")
    return root


def test_check_lists_the_files_to_change_and_writes_nothing(
    ontology: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(ontology)
    code, out, err = kg_fmt(capsys, ontology, "--check")
    assert code == 1 and out == ""
    assert "would reformat " + str(ontology / "shapes" / "messy.ttl") in err
    assert snapshot(ontology) == before

    code, _, err = kg_fmt(capsys, ontology)  # the default: every *.ttl under the ontology folder
    assert code == 0 and "reformatted " in err
    assert (ontology / "shapes" / "messy.ttl").read_text(encoding="utf-8") == EXPECTED
    for path in DEFAULT_ONTOLOGY_DIR.glob("*.ttl"):
        assert (ontology / path.name).read_text(encoding="utf-8") == formatted_module(path)

    code, _, err = kg_fmt(capsys, ontology, "--check")
    assert code == 0 and "would reformat" not in err


def test_diff_prints_a_unified_diff_and_writes_nothing(
    ontology: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messy = ontology / "shapes" / "messy.ttl"
    before = snapshot(ontology)
    code, out, _ = kg_fmt(capsys, ontology, "--diff", str(messy))
    assert code == 0 and snapshot(ontology) == before
    assert f"--- a/{messy}\n+++ b/{messy}\n" in out
    assert "-kg:thing    rdfs:label 'A thing'" in out and "+kg:thing a owl:Class ;" in out
    assert kg_fmt(capsys, ontology, "--check", "--diff", str(messy))[0] == 1


def test_a_formatted_file_is_not_rewritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "done.ttl"
    path.write_text(EXPECTED, encoding="utf-8")
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = snapshot(tmp_path)
    code, _, err = kg_fmt(capsys, tmp_path / "missing-default", str(path))
    assert code == 0 and "0 reformatted, 1 unchanged" in err
    assert snapshot(tmp_path) == before  # same bytes, mtime and inode


def test_a_broken_file_is_reported_and_left_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.ttl").write_text(BROKEN, encoding="utf-8")
    (tmp_path / "messy.ttl").write_text(MESSY, encoding="utf-8")
    broken = snapshot(tmp_path)[tmp_path / "broken.ttl"]
    code, _, err = kg_fmt(capsys, tmp_path, "--check")
    assert code == 2
    code, _, err = kg_fmt(capsys, tmp_path, str(tmp_path))
    assert code == 2
    [line] = [line for line in err.splitlines() if "broken.ttl" in line]  # one line, naming file and line
    assert line.startswith(f"kg fmt: {tmp_path / 'broken.ttl'}:3: unterminated or malformed string")
    assert line.endswith("; left untouched")
    assert snapshot(tmp_path)[tmp_path / "broken.ttl"] == broken
    assert (tmp_path / "messy.ttl").read_text(encoding="utf-8") == EXPECTED  # the others are done


def test_unreadable_files_and_a_missing_ontology_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "latin1.ttl").write_bytes(b"# caf\xe9\n")
    code, _, err = kg_fmt(capsys, tmp_path, str(tmp_path / "latin1.ttl"), str(tmp_path / "absent.ttl"))
    assert code == 2
    assert "latin1.ttl: cannot read: not UTF-8" in err and "absent.ttl: cannot read: No such file" in err
    code, _, err = kg_fmt(capsys, tmp_path / "nowhere")
    assert code == 2 and "nowhere does not exist" in err


def test_writing_is_atomic_and_keeps_the_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "messy.ttl"
    path.write_text(MESSY, encoding="utf-8")
    path.chmod(0o640)

    def fail(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fmt.os, "replace", fail)
    code, _, err = kg_fmt(capsys, tmp_path, str(path))
    assert code == 2 and "messy.ttl: cannot write: No space left on device" in err
    assert [p.name for p in tmp_path.iterdir()] == ["messy.ttl"]  # no temporary file left behind
    assert path.read_text(encoding="utf-8") == MESSY
    monkeypatch.undo()
    assert kg_fmt(capsys, tmp_path, str(path))[0] == 0
    assert path.read_text(encoding="utf-8") == EXPECTED
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["messy.ttl"]
