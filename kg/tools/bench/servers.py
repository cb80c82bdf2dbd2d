"""Real servers for the benchmark and the live tests: ``kg serve``'s app under uvicorn, a bare
FastAPI app, the Oxigraph server; each started on a free port and stopped with its workers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.config import PROJECT_ROOT, Settings
from kg.model.case import Case

if TYPE_CHECKING:
    from fastapi import FastAPI


HOST = "127.0.0.1"
ROUTE = "/recommendations"


SERVER_START_TIMEOUT_S = 180.0


def create_bare_app() -> FastAPI:
    """The baseline: a bare FastAPI app with the same route and body model, answering a tiny dict."""
    from fastapi import FastAPI  # only the server process needs it: `kg` starts without the HTTP stack

    app = FastAPI()

    @app.post(ROUTE)
    def recommend(case: Case) -> dict[str, int]:
        return {"findings": len(case.findings)}

    return app


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def server_env(settings: Settings) -> dict[str, str]:
    """The environment of a child process: this checkout of kg, and the settings the bench was given."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    env.update(settings.environment())
    return env


@contextmanager
def served(factory: str, workers: int, env: dict[str, str]) -> Iterator[int]:
    """Run ``uvicorn --factory`` the way ``kg serve`` serves (default loop, protocol and access log),
    until every worker has started; yield its port, then stop it and its workers."""
    with served_process(factory, workers, env) as (port, _):
        yield port


@contextmanager
def served_process(
    factory: str, workers: int, env: dict[str, str]
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """:func:`served`, yielding the server process too (with one worker, the process that serves)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", factory]
    command += ["--host", HOST, "--port", str(port), "--workers", str(workers)]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            command, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_started(server, log, workers)
            yield port, server
        finally:
            _stop(server)


def _wait_started(server: subprocess.Popen[bytes], log: Any, workers: int) -> None:
    """Wait until the log says the socket listens and each worker's application has started;
    raise if the server dies.

    Both, since uvicorn logs them in either order: one process starts the application before it
    binds the socket, a process with workers binds it first.
    """
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        log.seek(0)
        text = log.read().decode(errors="replace")
        if "Uvicorn running on" in text and text.count("Application startup complete") >= workers:
            return
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}:\n{text[-2000:]}")
        time.sleep(0.1)
    raise RuntimeError(f"the server did not start within {SERVER_START_TIMEOUT_S:.0f} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn's graceful shutdown), then SIGKILL to the server's own process group."""
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # the server and its workers: its session's group
        server.wait()


def oxigraph_binary() -> str:
    """The ``oxigraph`` command (PyPI package ``oxigraph``, a test dependency), on PATH or beside this
    Python; raises RuntimeError if it is not installed."""
    scripts = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    binary = shutil.which("oxigraph", path=scripts)
    if binary is None:
        raise RuntimeError("the Oxigraph server is not installed: pip install -e '.[test]'")
    return binary


@contextmanager
def oxigraph_served(dump: bytes) -> Iterator[int]:
    """The Oxigraph server (read-only) over a store loaded from the N-Quads ``dump``; yields its port."""
    binary = oxigraph_binary()
    with tempfile.TemporaryDirectory() as directory:
        data, location = Path(directory) / "dataset.nq", Path(directory) / "store"
        data.write_bytes(dump)
        for command in (["load", "--file", str(data)], ["optimize"]):
            done = subprocess.run([binary, *command, "--location", str(location)], capture_output=True)
            if done.returncode:
                raise RuntimeError(f"oxigraph {command[0]} failed: {done.stderr.decode(errors='replace')}")
        port = free_port()
        command = [binary, "serve-read-only", "--location", str(location), "--bind", f"{HOST}:{port}"]
        server = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            _wait_listening(server, port)
            yield port
        finally:
            _stop(server)


def _wait_listening(server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Oxigraph server exited with status {server.returncode}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the Oxigraph server did not listen within {SERVER_START_TIMEOUT_S:.0f} s")
