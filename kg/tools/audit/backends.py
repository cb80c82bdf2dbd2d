"""Where an audit's cases are evaluated: in this process, a pool of processes on this machine, or a
Dask distributed cluster. Every backend gets the distinct cases (as case JSON), in partitions, and
gives back one :class:`~kg.answer.rating.Verdict` (or the rejection) per case; the orders are rated
from those here, so the results are the same whatever the backend.

A worker process loads the knowledge base once (from the settings' folders and disk cache) and
keeps it for every partition it is given: :func:`evaluate_partition` says which process answered
and how many times it had loaded the knowledge, which the tests check is once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from kg.answer.rating import Verdict
from kg.model.case import Case
from kg.model.errors import CaseError

if TYPE_CHECKING:
    from kg.config import Settings
    from kg.knowledge_base import KnowledgeBase

#: How long to try to reach a Dask scheduler given by address.
CONNECT_TIMEOUT_S = 10
#: Distinct cases a partition holds: enough to outweigh sending it, small enough to spread.
PARTITION = 2000
Outcome = tuple[Verdict | None, str]  # the verdict, or None and why the case was rejected
Partition = tuple[int, int, list[Outcome]]  # (process id, knowledge loads in it so far, outcomes)
Backend = Callable[[list[str]], list[Partition]]  # the distinct cases in, their partitions out

_loaded: tuple[Settings, KnowledgeBase] | None = None
_loads = 0


def _knowledge(settings: Settings) -> KnowledgeBase:
    """The knowledge base of ``settings``, loaded once in this process."""
    global _loaded, _loads
    if _loaded is None or _loaded[0] != settings:
        from kg.knowledge_base import KnowledgeBase

        _loaded = (settings, KnowledgeBase.from_settings(settings))
        _loads += 1
    return _loaded[1]


def evaluate(kb: KnowledgeBase, cases: list[str]) -> list[Outcome]:
    """Each case's verdict, from its evaluation (:meth:`KnowledgeBase.evaluate`)."""
    outcomes: list[Outcome] = []
    for text in cases:
        try:
            outcomes.append((Verdict.of(kb.evaluate(Case.model_validate_json(text))), ""))
        except CaseError as error:
            outcomes.append((None, error.message))
    return outcomes


def evaluate_partition(settings: Settings, cases: list[str]) -> Partition:
    """A worker's task: one partition of cases, with the knowledge this process keeps."""
    outcomes = evaluate(_knowledge(settings), cases)
    return os.getpid(), _loads, outcomes


def partitions(cases: list[str]) -> Iterator[list[str]]:
    """The cases in partitions of :data:`PARTITION`."""
    size = PARTITION
    for start in range(0, len(cases), size):
        yield cases[start : start + size]


def in_process(kb: KnowledgeBase, progress: Callable[[int], object]) -> Backend:
    """Evaluate here, with ``kb``."""

    def run(cases: list[str]) -> list[Partition]:
        done = []
        for part in partitions(cases):
            done.append((os.getpid(), 0, evaluate(kb, part)))
            progress(len(part))
        return done

    return run


def process_pool(settings: Settings, workers: int, progress: Callable[[int], object]) -> Backend:
    """Evaluate in ``workers`` processes of this machine."""

    def run(cases: list[str]) -> list[Partition]:
        done = []
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(evaluate_partition, settings, part) for part in partitions(cases)]
            for future, part in zip(futures, partitions(cases), strict=True):
                done.append(future.result())
                progress(len(part))
        return done

    return run


def dask_cluster(
    settings: Settings, scheduler: str | None, workers: int, progress: Callable[[int], object]
) -> Backend:
    """Evaluate on a Dask distributed cluster: the one at ``scheduler`` (its workers need kg and
    the same knowledge folders, e.g. the same container image), or a LocalCluster of ``workers``
    single-threaded processes here."""

    def run(cases: list[str]) -> list[Partition]:
        from distributed import Client, LocalCluster, as_completed

        cluster = None
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        try:
            with Client(cluster if cluster is not None else scheduler, timeout=CONNECT_TIMEOUT_S) as client:
                parts = list(partitions(cases))
                futures = [client.submit(evaluate_partition, settings, part, pure=False) for part in parts]
                order = {future.key: index for index, future in enumerate(futures)}
                done: list[Partition | None] = [None] * len(parts)
                for future in as_completed(futures):
                    done[order[future.key]] = future.result()
                    progress(len(parts[order[future.key]]))
                return [part for part in done if part is not None]
        finally:
            if cluster is not None:
                cluster.close()

    return run
