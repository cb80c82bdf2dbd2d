"""Where an audit's chunks are read and rated: in this process, a pool of processes on this
machine, or a Dask distributed cluster. Every backend gets the same chunks of the input
(:func:`kg.tools.audit.inputs.chunks_of`: whole patients, or CSV rows) and gives back each chunk's
:class:`Part` (its rows of orders.csv, the problems and unmapped codes found in it) by the same
function, :func:`kg.tools.audit.rows.rate_chunk`, in the order the chunks came; so the results are
the same whatever the backend, and a worker does the reading (most of an audit's work) as well as
the evaluation.

A worker process loads the knowledge base once (from the settings' folders and disk cache) and
keeps it for every chunk it is given: :func:`rate_part` says which process answered and how many
times it had loaded the knowledge, which the tests check is once. At most :data:`IN_FLIGHT` chunks
per worker are sent ahead, so that memory stays bounded whatever the input's size.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from kg.cds.codes import code_book
from kg.tools.audit.inputs import Chunk
from kg.tools.audit.rows import Part, rate_chunk

if TYPE_CHECKING:
    from kg.config import Settings
    from kg.knowledge_base import KnowledgeBase

#: How long to try to reach a Dask scheduler given by address.
CONNECT_TIMEOUT_S = 10
#: Chunks sent ahead per worker: one being read, one waiting.
IN_FLIGHT = 2
Done = tuple[int, int, Part]  # (process id, knowledge loads in it so far, the chunk's part)

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


def rate_part(settings: Settings, chunk: Chunk) -> Done:
    """A worker's task: one chunk, with the knowledge this process keeps."""
    kb = _knowledge(settings)
    return os.getpid(), _loads, rate_chunk(kb, code_book(kb), chunk)


class WorkersFailed(RuntimeError):
    """The worker processes or the cluster could not rate the chunks (not started, not reached,
    gone)."""


class Backend:
    """Rates chunks: ``backend(chunks)`` gives each chunk's :data:`Done` in the order of the chunks.
    Workers start on the first chunk and serve every later call until :meth:`close`; a context
    manager. ``workers``: how many chunks it rates at once (the input is cut into at least as many)."""

    workers = 1

    def __init__(self, progress: Callable[[int], object]) -> None:
        self.progress = progress

    def __call__(self, chunks: Iterable[Chunk]) -> Iterator[Done]:
        raise NotImplementedError

    def start(self) -> None:
        """Start the workers (or reach the cluster) now: ``workers`` is then what they are."""

    def close(self) -> None:
        """Stop the workers."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ahead(self, chunks: Iterable[Chunk], submit: Callable[[Chunk], Any]) -> Iterator[Any]:
        """Each chunk's future, in order, with at most IN_FLIGHT per worker submitted ahead."""
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(submit(chunk))
            if len(pending) >= IN_FLIGHT * self.workers:
                yield pending.popleft()
        while pending:
            yield pending.popleft()


class _Here(Backend):
    def __init__(self, kb: KnowledgeBase, progress: Callable[[int], object]) -> None:
        super().__init__(progress)
        self.kb = kb

    def __call__(self, chunks: Iterable[Chunk]) -> Iterator[Done]:
        book = code_book(self.kb)
        for chunk in chunks:
            part = rate_chunk(self.kb, book, chunk)
            self.progress(len(part.rows))
            yield os.getpid(), 0, part


class _Pool(Backend):
    def __init__(self, settings: Settings, workers: int, progress: Callable[[int], object]) -> None:
        super().__init__(progress)
        self.settings, self.workers = settings, workers
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, chunks: Iterable[Chunk]) -> Iterator[Done]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        pool = self._pool
        try:
            future: Future[Done]
            for future in self._ahead(chunks, lambda chunk: pool.submit(rate_part, self.settings, chunk)):
                done = future.result()
                self.progress(len(done[2].rows))
                yield done
        except (OSError, RuntimeError) as exc:  # BrokenProcessPool is a RuntimeError
            raise WorkersFailed(str(exc) or type(exc).__name__) from exc

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class _Dask(Backend):
    def __init__(
        self, settings: Settings, scheduler: str | None, workers: int, progress: Callable[[int], object]
    ) -> None:
        super().__init__(progress)
        self.settings, self.scheduler, self.workers = settings, scheduler, workers
        self._cluster: Any = None
        self._client: Any = None

    def start(self) -> None:
        self._connect()

    def _connect(self) -> Any:
        from distributed import Client, LocalCluster

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
            if self.scheduler is not None:  # as many chunks at once as the cluster has worker threads
                self.workers = max(1, sum(self._client.nthreads().values()))
        return self._client

    def __call__(self, chunks: Iterable[Chunk]) -> Iterator[Done]:
        client = self._connect()

        def submit(chunk: Chunk) -> Any:
            # the chunk goes straight to a worker (scatter), not through the scheduler's task graph
            return client.submit(rate_part, self.settings, client.scatter(chunk), pure=False)

        from distributed import KilledWorker

        try:
            for future in self._ahead(chunks, submit):
                done = future.result()
                self.progress(len(done[2].rows))
                yield done
        except (KilledWorker, OSError, TimeoutError) as exc:  # a worker died; the cluster is gone
            raise WorkersFailed(str(exc) or type(exc).__name__) from exc

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def in_process(kb: KnowledgeBase, progress: Callable[[int], object]) -> Backend:
    """Read and rate here, with ``kb``."""
    return _Here(kb, progress)


def process_pool(settings: Settings, workers: int, progress: Callable[[int], object]) -> Backend:
    """Read and rate in ``workers`` processes of this machine (started on first use; close it)."""
    return _Pool(settings, workers, progress)


def dask_cluster(
    settings: Settings, scheduler: str | None, workers: int, progress: Callable[[int], object]
) -> Backend:
    """Read and rate on a Dask distributed cluster: the one at ``scheduler`` (its workers need kg and
    the same knowledge folders, e.g. the same container image), or a LocalCluster of ``workers``
    single-threaded processes here (started on first use; close it)."""
    return _Dask(settings, scheduler, workers, progress)
