"""The ``kg`` command: JSON and readable answers, exit codes, one-line messages without tracebacks."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kg import DISCLAIMER
from kg.cli import main
from kg.knowledge_base import KnowledgeBase

SEED = {"findings": ["low-back-pain", "leg-weakness"], "age": 45, "symptom_duration_weeks": 1}
SEED_ARGS = ["recommend", "--finding", "low-back-pain", "--finding", "leg-weakness", "--age", "45"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def kg_script() -> str:
    """The installed console script (next to this Python first, as a venv or pyenv puts it)."""
    path = shutil.which("kg", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    assert path, "the `kg` console script is not installed: python3 -m pip install -e '.[test]'"
    return path


@pytest.mark.usefixtures("cli_kb")
def test_recommend_from_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case.json"
    case.write_text(json.dumps(SEED))
    code, out, err = run(capsys, "recommend", "--input", str(case))
    assert (code, err) == (0, "")
    assert json.loads(out)["urgency"] == "urgent"


@pytest.mark.usefixtures("cli_kb")
def test_recommend_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(SEED)))
    code, out, _ = run(capsys, "recommend", "--input", "-")
    assert code == 0
    assert json.loads(out)["recommendations"][0]["procedure"] == "mri-lumbar-without-contrast"


def test_readable_answer(cli_kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *SEED_ARGS)
    assert code == 0
    mri = next(p for p in cli_kb.procedures if p.id == "mri-lumbar-without-contrast")
    assert "Urgency: URGENT (Image within 24-48 hours.)" in out
    assert f"Recommended: {mri.label} (mri-lumbar-without-contrast" in out
    assert "Do not order:" in out
    assert "Assess next:" in out
    assert DISCLAIMER in out


@pytest.mark.usefixtures("cli_kb")
def test_json_flag_with_findings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *SEED_ARGS, "--json")
    assert code == 0
    assert json.loads(out)["disclaimer"] == DISCLAIMER


@pytest.mark.usefixtures("cli_kb")
@pytest.mark.parametrize(
    ("argv", "case_json", "says"),
    [
        (
            ["--finding", "low-back-pain", "--finding", "leg-weakness", "--finding", "xyz"],
            None,
            "findings[2]: ",
        ),
        (["--finding", "low-back-pain", "--age", "131"], None, "age: "),
        (["--finding", "low-back-pain", "--sex", "x"], None, "sex: Input should be 'female'"),
        (["--input", "CASE"], '{"findings": [', "input: Invalid JSON"),
        (["--input", "CASE"], '{"findings": []}', "findings: "),
        (["--input", "CASE"], '{"findings": ["low-back-pain"], "age": "45"}', "age: "),
        (["--input", "CASE"], '{"findings": ["low-back-pain"], "weight": 70}', "weight: Extra inputs"),
        (["--input", "CASE", "--age", "45"], '{"findings": ["low-back-pain"]}', "--age: goes with --finding"),
        (["--input", "no-such-file.json"], None, "--input: cannot read no-such-file.json"),
    ],
    ids=["unknown", "age-131", "sex-x", "bad-json", "empty", "age-string", "extra", "mixed", "no-file"],
)
def test_rejected_case(
    argv: list[str], case_json: str | None, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = tmp_path / "case.json"
    case.write_text(case_json or "")
    code, out, err = run(capsys, "recommend", *[str(case) if a == "CASE" else a for a in argv])
    assert (code, out) == (2, "")
    assert says in err
    assert "Traceback" not in err
    if says.startswith("findings"):
        assert "/findings" in err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "recommend")
    assert code == 2
    assert "--input" in err


def test_broken_ontology_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KG_ONTOLOGY_DIR", str(tmp_path / "missing"))
    code, out, err = run(capsys, "recommend", "--finding", "low-back-pain")
    assert (code, out) == (2, "")
    assert "ontology" in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("cli_kb")
def test_findings_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "findings")
    assert code == 0
    assert any(line.startswith("leg-weakness ") for line in out.splitlines())


def test_console_script_readable() -> None:
    done = subprocess.run([kg_script(), *SEED_ARGS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Urgency: URGENT" in done.stdout


def test_console_script_exit_code() -> None:
    done = subprocess.run(
        [kg_script(), "recommend", "--input", "-"], input="{", capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.startswith("input: Invalid JSON")
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_serve() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([kg_script(), "serve", "--port", str(port)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health")
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "kg serve did not start"
                time.sleep(0.2)
        assert response.json()["status"] == "ok"
    finally:
        server.terminate()
        server.wait(timeout=30)
