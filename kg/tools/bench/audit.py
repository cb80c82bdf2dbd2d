"""kg bench's audit measurement: orders per second of ``kg audit`` end to end (its own pipeline,
:func:`kg.tools.audit.run.audit`: NDJSON read, cases
evaluated, orders.csv, orders.parquet, summary.json and report.html written) on one synthetic
export, in this process, with a pool of 2 processes and on a 2-worker Dask LocalCluster, side by
side in one run. Each backend starts from a freshly loaded knowledge base (no case kept from the
rest of the bench); the export is written before the clock starts."""

from __future__ import annotations

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

WORKERS = 2


def audit_rates(settings: Settings, orders: int, seed: int) -> tuple[float, float, float]:
    """Orders/s in this process, with a process pool and on a Dask LocalCluster (same export)."""
    kb = KnowledgeBase.from_settings(settings)
    book = code_book(kb)
    rates = []
    with tempfile.TemporaryDirectory() as scratch:
        files = write_export(generate(book, orders, seed), Path(scratch) / "export")

        def timed(name: str, backend: backends.Backend) -> float:
            start = time.perf_counter()
            with closing(backend):  # the workers stop with the measurement
                audit(files, book, kb, backend, Path(scratch) / name, Path(scratch))
            rate = orders / (time.perf_counter() - start)
            progress(f"audit, {name}: {rate:,.0f} orders/s ({orders:,} orders)")
            return rate

        done = lambda count: None  # noqa: E731  (no progress bar in the bench)
        rates.append(timed("one process", backends.in_process(KnowledgeBase.from_settings(settings), done)))
        rates.append(timed(f"{WORKERS} processes", backends.process_pool(settings, WORKERS, done)))
        rates.append(timed(f"Dask, {WORKERS} workers", backends.dask_cluster(settings, None, WORKERS, done)))
    return rates[0], rates[1], rates[2]
