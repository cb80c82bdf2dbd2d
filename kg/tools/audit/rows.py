"""An order's row of orders.csv: the order rated against kg's answer for its case at order time;
and a chunk of the input read and rated (:func:`rate_chunk`), the work of an audit's worker.

Orders with equal cases share one evaluation (distinct cases are few next to orders: a
department's orders repeat the same presentations).
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kg.answer.rating import Verdict, rate
from kg.knowledge.cache import Memo
from kg.model.case import Case
from kg.model.errors import CaseError
from kg.tools.audit.inputs import Chunk, read_chunk
from kg.tools.audit.orders import Order, Problem

if TYPE_CHECKING:
    from kg.cds.codes import CodeBook
    from kg.knowledge_base import KnowledgeBase

#: The columns of orders.csv, in order.
COLUMNS = (
    "order_id",
    "date",
    "month",
    "service",
    "ordered_procedure",
    "ordered_code",
    "rating",
    "urgency",
    "recommended_procedure",
    "presentation",
    "rejected",
    "ontology_version",
)


@dataclass
class Rated:
    """An order with its rating."""

    order: Order
    rating: str
    verdict: Verdict | None
    rejected: str


Outcome = tuple[Verdict | None, str]  # a case's verdict, or None and why the case was rejected


#: Verdicts a process keeps by case, across chunks (a case met in one chunk is met again in others:
#: 100,000 demo orders in 8 chunks have 26,000 distinct cases, 36,000 counted chunk by chunk).
VERDICTS_KEPT = 65_536
_verdicts: tuple[KnowledgeBase, Memo[Outcome]] | None = None


def evaluate(kb: KnowledgeBase, cases: dict[str, Case]) -> dict[str, Outcome]:
    """Each case's verdict (by the case's JSON), from its evaluation (:meth:`KnowledgeBase.evaluate`),
    kept for the chunks after (for this knowledge base)."""
    global _verdicts
    if _verdicts is None or _verdicts[0] is not kb:
        _verdicts = (kb, Memo(VERDICTS_KEPT))
    kept = _verdicts[1]
    outcomes: dict[str, Outcome] = {}
    for key, case in cases.items():
        outcome = kept.get(key)
        if outcome is None:
            try:
                outcome = (Verdict.of(kb.evaluate(case)), "")
            except CaseError as error:
                outcome = (None, error.message)
            kept[key] = outcome
        outcomes[key] = outcome
    return outcomes


def rate_orders(orders: list[Order], kb: KnowledgeBase) -> list[Rated]:
    """Each order rated (:func:`kg.answer.rating.rate`) against its case's verdict: what the answer
    for the case recommends and advises against (:meth:`KnowledgeBase.evaluate`, the answer without
    its what-if variants and assembly). Equal cases are evaluated once (orders repeat the same
    presentations)."""
    keys = [order.case.model_dump_json() if order.case is not None else None for order in orders]
    distinct = {key: order.case for key, order in zip(keys, orders, strict=True) if key is not None}
    by_case = evaluate(kb, distinct)  # type: ignore[arg-type]
    rated = []
    for order, key in zip(orders, keys, strict=True):
        verdict, rejected = by_case[key] if key is not None else (None, order.rejected)
        rated.append(Rated(order, rate(order.ordered_procedure, verdict), verdict, rejected))
    return rated


Row = tuple[str, ...]  # a row of orders.csv, in the order of COLUMNS


def row(item: Rated, version: str) -> Row:
    """An order's row of orders.csv (a tuple in the order of :data:`COLUMNS`: a hundred thousand
    rows a second go to the CSV writer and the Parquet columns)."""
    order, verdict = item.order, item.verdict
    first = verdict.recommended[0] if verdict and verdict.recommended else None
    return (
        order.order_id,
        order.date,
        order.date[:7],
        order.service,
        order.ordered_procedure or "",
        order.ordered_code,
        item.rating,
        verdict.urgency if verdict else "",
        first[0] if first else "",
        first[2] if first else "",
        item.rejected,
        version,
    )


@dataclass
class Part:
    """A chunk's rows of orders.csv, and the problems and unmapped codes found in it."""

    rows: list[Row]
    problems: list[Problem]
    unmapped: Counter[str]


def rate_chunk(kb: KnowledgeBase, book: CodeBook, chunk: Chunk) -> Part:
    """A chunk of the input read (:func:`~kg.tools.audit.inputs.read_chunk`) and its orders rated:
    the work of a backend's worker."""
    with collector_paused():
        read = read_chunk(chunk, book)
        rows = [row(item, kb.version) for item in rate_orders(read.orders, kb)]
        read.orders = []  # freed before the collection
    return Part(rows, read.problems, read.unmapped)


@contextmanager
def collector_paused() -> Iterator[Callable[[], object]]:
    """Python's cycle collector paused while chunks are read, rated and written; the function
    given runs it once (after a chunk). A chunk is hundreds of thousands of new objects that live
    until it is written (resources, orders, cases, rows); the collector, left on, scans them
    again and again as they grow, which took half the time of reading an export. What was there
    before (the knowledge base) is frozen meanwhile, so that a collection scans only what is new.
    Inside another pause (a chunk rated in the process that writes), nothing more is done; objects
    someone else froze (a server's knowledge base) stay frozen."""
    if not gc.isenabled():
        yield lambda: None
        return
    freeze = gc.get_freeze_count() == 0
    gc.disable()
    if freeze:
        gc.freeze()
    try:
        yield gc.collect
    finally:
        gc.collect()
        if freeze:
            gc.unfreeze()
        gc.enable()
