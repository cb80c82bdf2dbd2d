"""Rows kept by a query's whole key and, where its rows are ordered first by an item, by block.

A key (what a query can read of a presentation, :mod:`kg.engine.reads`) over all a query reads
changes with any of it, so distinct cases rarely meet an old one; the rows of one item (a rule,
a class, a candidate finding) read a few classes, findings or measurements, which other cases
often shared. :class:`Split` groups the items that read the same into blocks;
:class:`KeptRows` keeps rows by whole key and by block, and assembles a new whole key's rows from
kept blocks in the query's order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rdflib.term import Node

from kg.knowledge.cache import Memo

E = TypeVar("E")
log = logging.getLogger(__name__)
Item = tuple[Node | None, ...]  # an item: the values of the variables the rows are ordered by first


@dataclass(frozen=True)
class Split:
    """A query's rows split by the item they are ordered by first (the values of the first
    variables they are ordered by): items that read the same
    (``reads``: a hashable description, e.g. class bits) form a block."""

    variables: tuple[str, ...]
    blocks: tuple[tuple[Hashable, tuple[Item, ...]], ...]  # (what its items read, items)
    order: tuple[tuple[int, int], ...]  # the items in row order, as (block, position in it)
    rank: dict[Item, int]  # each item's place in row order

    def item_of(self, row: object) -> Item:
        """A row's item: its values of the split's variables."""
        return tuple(getattr(row, variable, None) for variable in self.variables)

    @classmethod
    def of(cls, variables: Sequence[object], items: Sequence[tuple[Item, Hashable]]) -> Split:
        """The split of ``items`` (each with what its rows read), in row order, by as many of the
        order ``variables`` as an item has values."""
        variables = [str(variable) for variable in variables[: len(items[0][0]) if items else 0]]
        grouped: dict[Hashable, list[Item]] = {}
        for item, reads in items:
            grouped.setdefault(reads, []).append(item)
        blocks = tuple((reads, tuple(members)) for reads, members in grouped.items())
        place = {item: (b, p) for b, (_, members) in enumerate(blocks) for p, item in enumerate(members)}
        order = tuple(place[item] for item, _ in items)
        return cls(tuple(variables), blocks, order, {item: rank for rank, (item, _) in enumerate(items)})


class KeptRows(Generic[E]):
    """Rows (or entries standing for rows) kept by query and whole key, and by query and block key."""

    def __init__(self, whole: int, blocks: int) -> None:
        self._whole: Memo[list[E]] = Memo(whole)
        self._blocks: Memo[tuple[list[E], ...]] = Memo(blocks)

    def get(self, query: str, key: Hashable) -> list[E] | None:
        """The rows kept by ``key``."""
        return self._whole.get((query, key))

    def assemble(
        self, query: str, key: Hashable, split: Split | None, block_key: Callable[[Hashable], Hashable]
    ) -> list[E] | None:
        """The rows assembled from kept blocks (each kept by the ``block_key`` of what its items
        read), in the query's order, and now kept by ``key``; None if a block is missing."""
        if split is None:
            return None
        parts = []
        for index, (reads, _) in enumerate(split.blocks):
            part = self._blocks.get((query, index, block_key(reads)))
            if part is None:
                return None
            parts.append(part)
        kept = [entry for block, position in split.order for entry in parts[block][position]]
        self._whole[query, key] = kept
        return kept

    def keep(
        self,
        query: str,
        key: Hashable,
        split: Split | None,
        block_key: Callable[[Hashable], Hashable],
        entries: list[E],
        item_of: Callable[[E], Item],
    ) -> bool:
        """Keep a run's rows by whole key and by block. False, and nothing kept by block (and a
        warning), when a row's item is not one of the split's or comes out of its order: the
        analysis that found the items would have missed a way the query reads (the caller stops
        splitting)."""
        self._whole[query, key] = entries
        if split is None:
            return True
        by_item: dict[Item, list[E]] = {}
        last = -1
        for entry in entries:
            item = item_of(entry)
            rank = split.rank.get(item)
            if rank is None or rank < last:
                named = " ".join(f"?{variable}" for variable in split.variables)
                log.warning("queries/%s.rq: rows the split by %s lacks; not split", query, named)
                return False
            last = rank
            by_item.setdefault(item, []).append(entry)
        for index, (reads, items) in enumerate(split.blocks):
            self._blocks[query, index, block_key(reads)] = tuple(by_item.get(item, []) for item in items)
        return True


def names(rows: Sequence[object], presentation: Node) -> bool:
    """Whether rows name the presentation or its individuals: then they are not given to others
    (the analysis rules that out for a kept query; this holds the line if it ever missed a way)."""
    prefix = str(presentation)
    return any(str(value).startswith(prefix) for row in rows for value in row.asdict().values())
