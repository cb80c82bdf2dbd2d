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
from typing import TYPE_CHECKING, Any

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


def in_process(kb: KnowledgeBase, progress: Callable[[int], object]) -> _Workers:
    """Evaluate here, with ``kb``."""
    return _Here(kb, progress)


class WorkersFailed(RuntimeError):
    """The worker processes or the cluster could not evaluate the cases (not started, not reached,
    gone)."""


class _Workers:
    """A backend whose workers start on its first partitions and serve every later call (an audit
    evaluates its input bucket by bucket) until :meth:`close`; a context manager."""

    def __call__(self, cases: list[str]) -> list[Partition]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop the workers."""

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Here(_Workers):
    def __init__(self, kb: KnowledgeBase, progress: Callable[[int], object]) -> None:
        self.kb, self.progress = kb, progress

    def __call__(self, cases: list[str]) -> list[Partition]:
        done = []
        for part in partitions(cases):
            done.append((os.getpid(), 0, evaluate(self.kb, part)))
            self.progress(len(part))
        return done


class _Pool(_Workers):
    def __init__(self, settings: Settings, workers: int, progress: Callable[[int], object]) -> None:
        self.settings, self.workers, self.progress = settings, workers, progress
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, cases: list[str]) -> list[Partition]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        parts = list(partitions(cases))
        futures = [self._pool.submit(evaluate_partition, self.settings, part) for part in parts]
        done = []
        try:
            for future, part in zip(futures, parts, strict=True):
                done.append(future.result())
                self.progress(len(part))
        except (OSError, RuntimeError) as exc:  # BrokenProcessPool is a RuntimeError
            raise WorkersFailed(str(exc) or type(exc).__name__) from exc
        return done

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class _Dask(_Workers):
    def __init__(
        self, settings: Settings, scheduler: str | None, workers: int, progress: Callable[[int], object]
    ) -> None:
        self.settings, self.scheduler, self.workers, self.progress = settings, scheduler, workers, progress
        self._cluster: Any = None
        self._client: Any = None

    def __call__(self, cases: list[str]) -> list[Partition]:
        from distributed import Client, LocalCluster, as_completed

        if self._client is None:
            try:
                if self.scheduler is None:
                    self._cluster = LocalCluster(
                        n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None
                    )
                self._client = Client(self._cluster or self.scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, RuntimeError, TimeoutError) as exc:
                self.close()
                raise WorkersFailed(str(exc) or type(exc).__name__) from exc
            except BaseException:
                self.close()
                raise
        parts = list(partitions(cases))
        futures = [self._client.submit(evaluate_partition, self.settings, part, pure=False) for part in parts]
        index = {future.key: position for position, future in enumerate(futures)}
        done: list[Partition | None] = [None] * len(parts)
        for future in as_completed(futures):
            done[index[future.key]] = future.result()
            self.progress(len(parts[index[future.key]]))
        return [part for part in done if part is not None]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def process_pool(settings: Settings, workers: int, progress: Callable[[int], object]) -> _Workers:
    """Evaluate in ``workers`` processes of this machine (started on first use; close it)."""
    return _Pool(settings, workers, progress)


def dask_cluster(
    settings: Settings, scheduler: str | None, workers: int, progress: Callable[[int], object]
) -> _Workers:
    """Evaluate on a Dask distributed cluster: the one at ``scheduler`` (its workers need kg and
    the same knowledge folders, e.g. the same container image), or a LocalCluster of ``workers``
    single-threaded processes here (started on first use; close it)."""
    return _Dask(settings, scheduler, workers, progress)
