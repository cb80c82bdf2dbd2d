"""The web page in a real headless Chromium (Debian's, driven by Playwright): keyboard only, three
public vignettes, an assess-next button, a shared URL, a phone-sized screen, no console errors, and
an axe-core scan (vendored in tests/vendor/axe-core) with no serious violations. Screenshots go to
test-artifacts/browser/."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

import pytest

from kg.config import PROJECT_ROOT, Settings
from kg.tools.bench import servers
from kg.tools.vignettes import load_cases

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (.ci/run installs Debian's)")
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
VIGNETTES = {case["id"]: case for case in load_cases()}


@pytest.fixture(scope="module")
def base(shipped_cache: Path) -> Iterator[str]:
    """A real kg serve on the session's knowledge cache."""
    settings = replace(Settings.from_env(), cache_dir=shipped_cache, watch=False)
    with servers.served("kg.api.main:create_app", 1, servers.server_env(settings)) as port:
        yield f"http://{servers.HOST}:{port}"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Page:
    """A page with its console's errors and warnings collected."""

    def __init__(
        self, browser: object, width: int = 1280, height: int = 1000, bypass_csp: bool = False
    ) -> None:
        context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=bypass_csp)  # type: ignore[attr-defined]
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on(
            "console",
            lambda m: self.problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def pick_with_keyboard(page: object, finding_id: str, label: str) -> None:
    """Type the finding's label into the search box and press Enter (the first match is picked)."""
    search = page.locator("#finding-search")  # type: ignore[attr-defined]
    search.fill("")
    search.press_sequentially(label)
    first = page.locator("#findings .finding:not([hidden]) input").first  # type: ignore[attr-defined]
    assert first.get_attribute("value") == finding_id, (
        f"typing {label!r} first shows {first.get_attribute('value')}"
    )
    search.press("Enter")
    playwright.expect(page.locator(f"#finding-{finding_id}")).to_be_checked()  # type: ignore[attr-defined]


@pytest.mark.parametrize("vignette", ["seed-leg-weakness", "ces-saddle-anesthesia", "v7-infection-ivdu"])
def test_a_vignette_picked_with_the_keyboard(base: str, browser: object, vignette: str, kb: object) -> None:
    case = VIGNETTES[vignette]
    expected = case["expect"]
    labels = kb.finding_labels  # type: ignore[attr-defined]
    view = Page(browser)
    page = view.page
    page.goto(base + "/")
    page.keyboard.press("Tab")  # the skip link first
    playwright.expect(page.locator(".skip")).to_be_focused()
    for field in ("age", "symptom_duration_weeks", "egfr"):
        if field in case:
            page.locator(f"#{field}").fill(str(case[field]))
            page.locator(f"#{field}").press("Tab")
    for finding in case["findings"]:
        pick_with_keyboard(page, finding, labels[finding])
    playwright.expect(page.locator(".banner .level")).to_have_text(expected["urgency"].capitalize())
    if "first_procedure" in expected:
        procedure = kb.procedures_by_id[expected["first_procedure"]].label  # type: ignore[attr-defined]
        playwright.expect(page.locator(".recommended .procedure")).to_have_text(procedure)
    assert "findings=" + case["findings"][0] in page.url  # the case is in the address bar
    playwright.expect(page.locator("#why-graph canvas").first).to_be_attached()
    view.shot(vignette)
    assert view.problems == []


def test_assess_next_adds_the_finding_and_the_answer_changes(base: str, browser: object) -> None:
    view = Page(browser)
    page = view.page
    page.goto(base + "/?" + urlencode({"findings": ["low-back-pain", "leg-weakness"], "age": 45}, doseq=True))
    playwright.expect(page.locator(".banner .level")).to_have_text("Urgent")
    button = page.locator("button.add-finding[data-finding='saddle-anesthesia']")
    button.focus()
    page.keyboard.press("Enter")
    playwright.expect(page.locator(".banner .level")).to_have_text("Emergent")
    playwright.expect(page.locator("#finding-saddle-anesthesia")).to_be_checked()
    playwright.expect(page.locator("#answer")).to_be_focused()
    assert "saddle-anesthesia" in page.url
    view.shot("assess-next")
    assert view.problems == []


def test_a_shared_url_reproduces_the_answer_and_back_returns(base: str, browser: object) -> None:
    view = Page(browser)
    page = view.page
    url = base + "/?" + urlencode({"findings": ["low-back-pain", "leg-weakness"], "age": 40}, doseq=True)
    page.goto(url)
    playwright.expect(page.locator(".banner .level")).to_have_text("Urgent")
    playwright.expect(page.locator("#finding-leg-weakness")).to_be_checked()
    playwright.expect(page.locator("#age")).to_have_value("40")
    page.locator("label[for=finding-saddle-anesthesia]").click()
    playwright.expect(page.locator(".banner .level")).to_have_text("Emergent")
    page.go_back()
    playwright.expect(page.locator(".banner .level")).to_have_text("Urgent")
    assert view.problems == []


def test_a_rejected_case_shows_the_message_next_to_the_field(base: str, browser: object) -> None:
    view = Page(browser)
    page = view.page
    page.goto(base + "/?findings=low-back-pain")
    page.locator("#age").press_sequentially("12")  # typing answers again, without Enter
    playwright.expect(page.locator("#error-age")).to_contain_text("18")
    playwright.expect(page.locator("#age")).to_have_attribute("aria-invalid", "true")
    playwright.expect(page.locator(".banner .level")).to_have_text("Not answered")
    page.locator("#age").fill("30")
    page.locator("#age").press("Enter")
    playwright.expect(page.locator("#error-age")).to_be_empty()
    assert view.problems == []


def test_a_phone_screen_and_print(base: str, browser: object) -> None:
    view = Page(browser, width=360, height=740)
    page = view.page
    many = ["low-back-pain", "leg-weakness", "fever", "iv-drug-use", "history-of-cancer", "pregnancy"]
    page.goto(base + "/?" + urlencode({"findings": many, "age": 60, "egfr": 20}, doseq=True))
    playwright.expect(page.locator(".banner .level")).to_have_text("Emergent")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways at 360 px ({width} px wide)"
    view.shot("phone")
    page.emulate_media(media="print")
    assert not page.locator("#case").is_visible()
    assert (
        page.locator(".version").is_visible()
        and "Decision support only" in page.locator(".version").inner_text()
    )
    view.shot("print")
    pdf = page.pdf(format="A4")
    (ARTIFACTS / "print.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, "the print summary is one A4 page"
    assert view.problems == []


def test_axe_finds_no_serious_violations(base: str, browser: object) -> None:
    view = Page(browser, bypass_csp=True)  # axe is injected as an inline script: tests only
    page = view.page
    page.goto(base + "/?" + urlencode({"findings": ["low-back-pain", "leg-weakness"], "age": 45}, doseq=True))
    playwright.expect(page.locator(".banner .level")).to_have_text("Urgent")
    for path in (
        "/?" + urlencode({"findings": ["low-back-pain", "leg-weakness"], "age": 45}, doseq=True),
        "/",
    ):
        page.goto(base + path)
        page.add_script_tag(path=str(AXE))
        results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], serious


def test_the_knowledge_page_opens_and_its_links_lead_somewhere(base: str, browser: object) -> None:
    view = Page(browser)
    page = view.page
    page.goto(base + "/")
    page.get_by_role("link", name="The knowledge").click()
    playwright.expect(page).to_have_url(base + "/knowledge")
    playwright.expect(page.locator("#class-suspected-cauda-equina-syndrome h3")).to_contain_text("emergent")
    page.get_by_role("link", name="Input rules").click()
    playwright.expect(page.locator("#input-rules")).to_be_in_viewport()
    for anchor in page.locator("a[href^='#']").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    ):
        assert page.locator(anchor).count() == 1, f"{anchor} leads nowhere"
    view.shot("knowledge")
    assert view.problems == []
