"""kg bench's audit measurement: orders per second of ``kg audit`` end to end (its own pipeline,
:func:`kg.tools.audit.run.audit`: NDJSON read, cases evaluated, orders.csv, orders.parquet,
summary.json and report.html written) on one synthetic export, in one process, with a pool of 2
processes and on a 2-worker Dask LocalCluster, side by side in one run.

It runs in a fresh Python process, as ``kg audit`` does: the bench's own process holds minutes of
other measurements' objects (frozen out of the cycle collector's reach, as the server does), which
an audit would otherwise have to scan after every chunk. Each backend starts from a freshly loaded
knowledge base; the export is written before the clock starts."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from kg.cds.codes import code_book
from kg.config import Settings
from kg.knowledge_base import KnowledgeBase
from kg.tools.audit import backends
from kg.tools.audit.run import audit
from kg.tools.audit.synth import generate, write_export
from kg.tools.bench.measure import progress
from kg.tools.bench.servers import server_env

WORKERS = 2
#: How long the child process may take (100,000 orders take under a minute on 2 cores).
TIMEOUT_S = 1800


def audit_rates(settings: Settings, orders: int, seed: int) -> tuple[float, float, float]:
    """Orders/s in one process, with a process pool and on a Dask LocalCluster (same export),
    measured in a fresh Python process (see the module's docstring)."""
    command = [sys.executable, "-m", "kg.tools.bench.audit", str(orders), str(seed)]
    done = subprocess.run(
        command, env=server_env(settings), stdout=subprocess.PIPE, timeout=TIMEOUT_S, check=True, text=True
    )  # its progress lines go to this standard error
    one, pool, dask = json.loads(done.stdout.strip().splitlines()[-1])
    return float(one), float(pool), float(dask)


def _measured(settings: Settings, orders: int, seed: int) -> tuple[float, float, float]:
    """Orders/s in this process, with a process pool and on a Dask LocalCluster (same export)."""
    kb = KnowledgeBase.from_settings(settings)
    book = code_book(kb)
    rates = []
    with tempfile.TemporaryDirectory() as scratch:
        files = write_export(generate(book, orders, seed), Path(scratch) / "export")

        def timed(name: str, backend: backends.Backend) -> float:
            start = time.perf_counter()
            with closing(backend):  # the workers stop with the measurement
                audit(files, kb, backend, Path(scratch) / name, Path(scratch))
            rate = orders / (time.perf_counter() - start)
            progress(f"audit, {name}: {rate:,.0f} orders/s ({orders:,} orders)")
            return rate

        done = lambda count: None  # noqa: E731  (no progress bar in the bench)
        rates.append(timed("one process", backends.in_process(KnowledgeBase.from_settings(settings), done)))
        rates.append(timed(f"{WORKERS} processes", backends.process_pool(settings, WORKERS, done)))
        rates.append(timed(f"Dask, {WORKERS} workers", backends.dask_cluster(settings, None, WORKERS, done)))
    return rates[0], rates[1], rates[2]


if __name__ == "__main__":  # the child process of audit_rates (a guard: the pool's workers import this)
    print(json.dumps(_measured(Settings.from_env(), int(sys.argv[1]), int(sys.argv[2]))))
