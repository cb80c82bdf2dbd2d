"""The web page at / without a browser: the form from the ontology's case form, the answer the
REST API gives, field messages, the URL as the case, the vendored assets."""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient

from kg.api.main import create_app
from kg.api.routes.pages import STATIC_DIR, VENDOR, read_case
from kg.config import DEFAULT_ONTOLOGY_DIR, Settings
from kg.knowledge_base import KnowledgeBase

HX = {"HX-Request": "true"}
VOID = {"input", "br", "meta", "link", "img", "hr"}


class Texts(HTMLParser):
    """The text of elements with a given class, and every element id."""

    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted, self.depth, self.texts, self.ids = wanted, 0, [], set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        named = dict(attrs)
        if named.get("id"):
            self.ids.add(named["id"])
        if self.depth:
            self.depth += 1
        elif self.wanted in (named.get("class") or "").split():
            self.depth = 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.texts[-1] += data


def texts(html: str, wanted: str) -> list[str]:
    parser = Texts(wanted)
    parser.feed(html)
    return [" ".join(text.split()) for text in parser.texts]


def test_the_form_shows_every_finding_in_its_ontology_section(client: TestClient, kb: KnowledgeBase) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    legends = re.findall(r"<legend>([^<]+)</legend>", page.text)
    assert legends == [section.label.capitalize() for section in kb.form_sections]
    assert legends[:3] == ["Presenting complaint", "Neurologic finding", "Cauda equina red flag"]
    boxes = re.findall(r'name="findings" value="([^"]+)"', page.text)
    assert sorted(boxes) == sorted(f.id for f in kb.findings)  # each once
    section_of = {f.id: f.section for f in kb.findings}
    assert section_of["saddle-anesthesia"] == "cauda-equina-red-flag"
    assert section_of["history-of-cancer"] == "malignancy-risk"
    assert all(section_of.values()), "every finding has a section (qc/finding-form-section-violation.rq)"
    # the search finds a finding by its other names (ontology/case-form.ttl)
    assert 'data-terms="radicular leg pain|radicular-leg-pain|sciatica"' in page.text
    assert kb.version in page.text and "Decision support only" in page.text


def test_the_answer_is_the_rest_answer_laid_out(client: TestClient) -> None:
    body = {"findings": ["low-back-pain", "leg-weakness"], "age": 45.0}
    rest = client.post("/recommendations", json=body).json()
    page = client.get("/", params={"findings": body["findings"], "age": "45"})
    banner = texts(page.text, "banner")[0]
    assert banner.startswith(f"{rest['urgency'].capitalize()}: {rest['urgency_meaning']}")
    assert texts(page.text, "procedure")[0] == rest["recommendations"][0]["label"]
    for finding in rest["assess_next"]:
        assert f'data-finding="{finding}"' in page.text
    for caveat in rest["caveats"]:
        assert caveat["text"] in page.text.replace("&#39;", "'")
    for source in {s for r in rest["recommendations"] for s in r["sources"]}:
        assert f'id="source-{source}"' in page.text and f'href="#source-{source}"' in page.text
    assert 'id="why-data"' in page.text and rest["justification"][0]["axiom"] in page.text


def test_htmx_gets_the_answer_part_with_field_messages_out_of_band(client: TestClient) -> None:
    part = client.get("/", params={"findings": ["low-back-pain"], "age": "abc"}, headers=HX)
    assert part.status_code == 200 and "<form" not in part.text
    assert re.search(r'id="error-age" hx-swap-oob="true">&#39;abc&#39; is not a number<', part.text)
    assert 'id="error-egfr" hx-swap-oob="true"></p>' in part.text  # cleared
    assert "Not answered" in part.text


def test_a_rejected_case_names_the_rule_next_to_its_field(client: TestClient) -> None:
    query = {"findings": ["low-back-pain", "pregnancy"], "sex": "male", "age": "30"}
    part = client.get("/", params=query, headers=HX)
    message = re.search(r'id="error-sex" hx-swap-oob="true">([^<]+)<', part.text)
    assert message and "pregnancy-with-male-sex" in message.group(1)
    child = client.get("/", params={"findings": ["low-back-pain"], "age": "12"})
    assert re.search(r'id="error-age">[^<]*18', child.text), "the scope rule's message next to the age"
    unknown = client.get("/", params={"findings": ["no-such-finding"]})
    assert re.search(r'id="error-findings">unknown finding', unknown.text)
    out_of_range = client.get("/", params={"findings": ["low-back-pain"], "egfr": "500"})
    assert re.search(r'id="error-egfr">[^<]*200', out_of_range.text)
    too_many = client.get("/", params={"findings": [f"finding-{n}" for n in range(101)]})
    assert re.search(r'id="error-findings">[^<]*100', too_many.text)
    too_long = client.get("/", params={"age": "1" * 9000})
    assert too_long.status_code == 414 and "start again" in too_long.text


def test_the_query_string_is_read_as_a_case() -> None:
    values, case, errors = read_case(
        [
            ("findings", "fever"),
            ("findings", " fever "),
            ("findings", ""),
            ("age", "40"),
            ("egfr", ""),
            ("x", "1"),
        ]
    )
    assert case is not None and case.findings == ["fever"] and case.age == 40.0 and case.egfr is None
    assert values["findings"] == ["fever"] and not errors
    assert read_case([("age", "40")])[1] is None  # no finding: no case, no error
    assert read_case([("findings", "fever"), ("sex", "robot")])[2]["sex"]


def test_the_vendored_assets_are_the_recorded_bytes(client: TestClient) -> None:
    table = dict(
        re.findall(
            r"^\| `([^`]+)` \| [^|]+ \| `([0-9a-f]{64})` \|$",
            (STATIC_DIR / "vendor" / "VENDORED.md").read_text(),
            re.M,
        )
    )
    assert (
        set(table) == set(VENDOR) == {"htmx.min.js", "LICENSE-htmx", "cytoscape.min.js", "LICENSE-cytoscape"}
    )
    for name, digest in table.items():
        assert hashlib.sha256((STATIC_DIR / "vendor" / name).read_bytes()).hexdigest() == digest, name
    page = client.get("/").text
    for path in re.findall(r'(?:src|href)="(/ui/[^"?]+)', page):
        answer = client.get(path)
        assert answer.status_code == 200 and "max-age" in answer.headers["cache-control"], path
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page), "nothing from another host"
    for name in ("x.js", "VENDORED.md", "..%2Fpages.py"):
        assert client.get(f"/ui/vendor/{name}").status_code == 404
        assert client.get(f"/ui/{name}").status_code == 404


def test_sources_lists_every_cited_key_with_its_citation(client: TestClient, kb: KnowledgeBase) -> None:
    sources = {s["id"]: s["citation"] for s in client.get("/sources").json()}
    cited = {s for keys in kb.sources.values() for s in keys}
    assert cited <= set(sources) and all(sources[key] for key in cited)
    assert "J Am Coll Radiol" in sources["acr-lbp-2021"]


def test_qc_finds_a_form_section_that_is_no_section(kb: KnowledgeBase) -> None:
    from rdflib import Graph

    from kg.config import QUERIES_DIR
    from kg.knowledge.queries import QueryLibrary
    from kg.model.namespaces import KG

    qc = QueryLibrary(QUERIES_DIR / "qc")
    graph = Graph()
    graph += kb.ontology.graph
    query = "finding-form-section-violation"
    assert qc.select(query, graph) == []
    graph.add((KG.fever, KG.formSection, KG["low-back-pain"]))  # a finding, not a section
    graph.add((KG.pregnancy, KG.formSection, KG.InfectionRisk))  # a second section
    problems = {(str(row.id), str(row.problem).split(",")[0]) for row in qc.select(query, graph)}
    assert problems == {
        ("fever", "more than one kg:formSection"),
        ("fever", f"kg:formSection names {KG['low-back-pain']}"),
        ("pregnancy", "more than one kg:formSection"),
    }


def test_the_knowledge_page_reads_the_knowledge_through_the_queries(
    client: TestClient, kb: KnowledgeBase
) -> None:
    page = client.get("/knowledge")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    text = page.text.replace("&#39;", "'")
    classes = [str(row.id) for row in kb.queries.select("knowledge-presentations", kb.closed)]
    positions = [text.index(f'id="class-{cls}"') for cls in dict.fromkeys(classes)]
    assert positions == sorted(positions) and len(positions) >= 10, "most urgent first, each once"
    # a class's definition as a readable axiom, and its recommendations in their rank order
    assert (
        "Presentation and (hasFinding some fever) and (hasFinding some NeurologicDeficit) "
        "SubClassOf SuspectedSpinalInfectionWithDeficit"
    ) in text
    section = text[text.index('id="class-suspected-spinal-infection-with-deficit"') :]
    section = section[: section.index("</article>")]
    first = section.index("MRI lumbar spine without and with IV contrast")
    assert first < section.index("CT lumbar spine without IV contrast")
    for rule in kb.input_rules:
        assert rule.message in text
    for source in kb.source_list:
        assert f'id="source-{source.id}"' in text
    for finding in kb.findings:
        assert finding.label in text
    assert kb.version in text and "No reload since the service started" in text
    assert 'id="validation"' not in text  # no admin token: no validation report


def test_with_an_admin_token_the_knowledge_page_shows_the_last_validation(
    tmp_path: Path, warm_cache: Path, kb: KnowledgeBase
) -> None:
    folder = Path(shutil.copytree(DEFAULT_ONTOLOGY_DIR, tmp_path / "ontology"))
    settings = replace(
        Settings.from_env(), ontology_dir=folder, cache_dir=warm_cache, watch=False, admin_token="secret"
    )
    with TestClient(create_app(settings, knowledge_base=kb)) as admin:
        before = admin.get("/knowledge").text
        assert 'id="validation"' in before and "No folder has been validated" in before
        (folder / "extra.ttl").write_text(
            "@prefix kg: <https://w3id.org/kg/> .\nkg:fever kg:formSection kg:ImagingModifier .\n"
        )
        refused = admin.post("/admin/reload", headers={"Authorization": "Bearer secret"})
        assert refused.status_code == 422
        after = admin.get("/knowledge").text
        assert "refused, still serving" in after
        assert "qc:finding-form-section-violation" in after and "more than one kg:formSection" in after
