"""A built wheel works outside the checkout: its knowledge pack is served, answered and validated.

The wheel is built as a user builds it (``pip wheel``, an isolated build with setuptools from the
index), installed with ``pip install --no-deps`` into a fresh venv in a temporary folder, and its
``kg`` runs from there. The fresh venv finds kg's dependencies in this environment's
site-packages through a ``.pth`` line (so the test does not download them again), but not this
checkout: that folder's ``.pth`` files, among them the editable install's, are not processed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

from kg.config import PROJECT_ROOT
from kg.tools.bench.servers import HOST, free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fresh venv's ``bin`` folder, kg installed in it from a wheel built now."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(PROJECT_ROOT)]
    subprocess.run(build, check=True, cwd=root, timeout=600)
    [wheel] = dist.glob("kg-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)]
    subprocess.run(install, check=True, cwd=root, timeout=600)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "kg-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def run_kg(bin_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``kg ARGS`` of the fresh venv, from a folder outside the checkout."""
    environment = {**os.environ, "KG_CACHE_DIR": str(bin_dir.parent / "cache"), **(env or {})}
    environment.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(bin_dir / "kg"), *args],
        capture_output=True,
        text=True,
        cwd=bin_dir.parent.parent,
        env=environment,
        timeout=600,
    )


def test_the_installed_kg_reads_its_pack_not_the_checkout(installed: Path) -> None:
    probe = "import kg.config as c; print(c.DEFAULT_ONTOLOGY_DIR); print(c.QUERIES_DIR); print(c.SCENARIOS)"
    paths = subprocess.run(
        [str(installed / "python"), "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed.parent.parent,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    ).stdout.split()
    assert len(paths) == 3
    for path in paths:
        assert "/kg/pack/" in path and not path.startswith(str(PROJECT_ROOT)), path
        assert Path(path).exists()


def test_recommend_and_validate_work_from_the_wheel(installed: Path) -> None:
    answer = run_kg(
        installed, "recommend", "--finding", "low-back-pain", "--finding", "leg-weakness", "--age", "45"
    )
    assert answer.returncode == 0, answer.stderr
    assert "Urgency: URGENT" in answer.stdout and "mri-lumbar-without-contrast" in answer.stdout
    report = run_kg(installed, "validate", "--json")
    assert report.returncode == 0, report.stdout[-2000:] + report.stderr[-2000:]
    assert json.loads(report.stdout)["conforms"] is True
    assert not any("vignettes not run" in note for note in json.loads(report.stdout)["notes"])


def test_another_ontology_folder_is_still_taken_from_the_environment(installed: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ontology"
    shutil.copytree(PROJECT_ROOT / "ontology", folder)
    (folder / "broken.ttl").write_text("this is not turtle")
    answer = run_kg(installed, "findings", env={"KG_ONTOLOGY_DIR": str(folder)})
    assert answer.returncode == 2 and str(folder) in answer.stderr


def test_serve_works_from_the_wheel(installed: Path) -> None:
    port = free_port()
    environment = {**os.environ, "KG_CACHE_DIR": str(installed.parent / "cache"), "KG_WATCH": "0"}
    environment.pop("PYTHONPATH", None)
    server = subprocess.Popen(
        [str(installed / "kg"), "serve", "--port", str(port)],
        cwd=installed.parent.parent,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"http://{HOST}:{port}/health", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "kg serve did not start"
                time.sleep(0.3)
        assert health.json()["status"] == "ok"
        case = {"findings": ["low-back-pain", "saddle-anesthesia"], "age": 50}
        answer = httpx.post(f"http://{HOST}:{port}/recommendations", json=case, timeout=30)
        assert answer.status_code == 200 and answer.json()["urgency"] == "emergent"
        assert httpx.get(f"http://{HOST}:{port}/docs", timeout=5).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
