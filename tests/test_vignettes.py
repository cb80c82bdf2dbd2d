"""Every public vignette, through REST and through the CLI, and the determinism of answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kg.cli import main
from kg.tools.vignettes import case_body, check_answer, check_status, load_cases

CASES = load_cases()
BY_ID = {case["id"]: case for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=list(BY_ID))
def test_vignette_via_rest(client: TestClient, case: dict) -> None:
    response = client.post("/recommendations", json=case_body(case))
    assert check_status(case, response.status_code, response.content) == []
    if case["expect"].get("rejected"):
        detail = response.json()["detail"]
        assert detail and all("input rule" in problem["msg"] for problem in detail), detail
    else:
        assert check_answer(case, response.json()) == []


@pytest.mark.usefixtures("cli_kb")
@pytest.mark.parametrize("case", CASES, ids=list(BY_ID))
def test_vignette_via_cli(case: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case_body(case)))
    status = main(["recommend", "--input", str(path)])
    output = capsys.readouterr()
    if case["expect"].get("rejected"):
        assert status == 2
        assert "input rule" in output.err
    else:
        assert status == 0, output.err
        assert check_answer(case, json.loads(output.out)) == []


def test_answers_are_deterministic(client: TestClient) -> None:
    body = case_body(BY_ID["infection-with-deficit"])
    reordered = {**body, "findings": body["findings"][::-1]}
    first, again, shuffled = (
        client.post("/recommendations", json=b).content for b in (body, body, reordered)
    )
    assert first == again
    assert first == shuffled
