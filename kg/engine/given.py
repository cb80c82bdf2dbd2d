"""The queries before classification on the fast path: their rows kept by what each reads of a
case as given (:mod:`kg.engine.reads.given`), by item where the rows are ordered by one.

A case's key for a query is its findings among the finding classes the query can read, and its
measurements of the properties it can read: each value itself, or, where the query only compares
it (``regions``), its region among the numbers of the ontology and the queries, i.e. where it
falls among them and whether it equals one. Rows kept under a region carry the value of the case
that ran them where the query projects it; a case given them gets its own value put in.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from decimal import Decimal

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from kg.engine.blocks import KeptRows, Split, names
from kg.engine.facts import FactStore, Row, row
from kg.engine.inference import PREPARE_QUERIES, Prepared, asserted_facts, prepare
from kg.engine.reads.algebra import literals
from kg.engine.reads.given import GivenAnalyzer
from kg.engine.reads.model import QueryReads
from kg.model.namespaces import CASE

Findings = Sequence[tuple[str, URIRef]]
Measurements = Mapping[URIRef, Literal]
#: What a key reads: finding classes, and measurement properties in order.
Reads = tuple[frozenset[Node], tuple[Node, ...]]
#: A kept row, with the columns that carry a measurement's value and the property they carry.
Entry = tuple[Row, tuple[tuple[str, Node], ...]]
ROWS_KEPT = 16_384
BLOCKS_KEPT = 65_536


def numbers(closed: Graph, analyzer: GivenAnalyzer) -> tuple[object, ...]:
    """The numbers a measurement can be compared with: the ontology's and the queries' numeric
    literals, sorted (a region key needs every one)."""
    found = {_number(node) for node in closed.objects() if isinstance(node, Literal)}
    for query in analyzer.parsed():
        found |= {_number(node) for node in literals(query.algebra)}
    found.discard(None)
    return tuple(sorted(found))  # type: ignore[type-var]


def _number(node: Literal) -> int | float | Decimal | None:
    value = node.toPython()
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return value


class GivenKey:
    """The key one query's rows are kept by, over a case as given; and its split by item."""

    def __init__(self, reads: QueryReads, analyzer: GivenAnalyzer, limits: tuple[object, ...]) -> None:
        self.reads = reads
        self._limits = limits
        self._limit_set = frozenset(limits)
        self._regions = analyzer.regions.get(reads.name, False)
        self.carried = analyzer.carried.get(reads.name, frozenset())
        reading = analyzer.reading(reads, frozenset()) if reads.keyed else None
        self.keyed = reading is not None
        self._measurable = analyzer.vocabulary.measurement_properties
        self._reads: Reads = self._parts(reading.classes) if reading else (frozenset(), ())
        self.split: Split | None = None
        if reading is not None and reading.items is not None and reads.item:
            self.split = Split.of(reads.item, [(item, self._parts(read)) for item, read in reading.items])

    def _parts(self, read: frozenset[Node]) -> Reads:
        return read - self._measurable, tuple(sorted(read & self._measurable, key=str))

    def key(
        self, classes: frozenset[Node], measurements: Measurements, reads: Reads | None = None
    ) -> Hashable:
        """The case's findings among the classes read and its measurements of the properties read."""
        findings, properties = reads or self._reads
        return classes & findings, tuple(
            (p, self._value(measurements[p])) for p in properties if p in measurements
        )

    def block_key(
        self, classes: frozenset[Node], measurements: Measurements
    ) -> Callable[[Hashable], Hashable]:
        """The key of a block, from what its items read."""
        return lambda reads: self.key(classes, measurements, reads)  # type: ignore[arg-type]

    def _value(self, literal: Literal) -> Hashable:
        number = _number(literal) if self._regions else None
        if number is None:
            return literal
        index = bisect_left(self._limits, number)  # type: ignore[arg-type]
        return index, number in self._limit_set

    def entries(self, rows: list[Row], measurements: Measurements) -> list[Entry] | None:
        """Rows to keep, each with the columns carrying a measurement's value; None when a
        carried value is not one measurement's alone (then the rows are not kept)."""
        entries: list[Entry] = []
        for found in rows:
            carried = []
            for column in self.carried:
                value = getattr(found, column, None)
                if value is None:
                    continue
                sources = [p for p, literal in measurements.items() if literal == value]
                if len(sources) != 1:
                    return None
                carried.append((column, sources[0]))
            entries.append((found, tuple(carried)))
        return entries

    @staticmethod
    def rows(entries: Iterable[Entry], measurements: Measurements) -> list[Row]:
        """Kept rows with this case's own measurement values in the columns that carry one."""
        rows = []
        for kept, carried in entries:
            if carried:
                values = {name: getattr(kept, name) for name in kept.labels}
                values.update((column, measurements[p]) for column, p in carried)
                kept = row(values)
            rows.append(kept)
        return rows


class GivenRows:
    """The rows of the queries before classification, kept by what each reads of the case as given."""

    def __init__(
        self, store: FactStore, closed: Graph, analyzer: GivenAnalyzer, texts: Mapping[str, str]
    ) -> None:
        self.store = store
        self.analyzer = analyzer
        self._reads = {name: analyzer.analyse(name, texts[name]) for name in PREPARE_QUERIES}
        self._limits = numbers(closed, analyzer)
        self._keys: dict[str, GivenKey] | None = None
        self._lock = threading.Lock()
        self._kept: KeptRows[Entry] = KeptRows(ROWS_KEPT, BLOCKS_KEPT)

    @property
    def keys(self) -> dict[str, GivenKey]:
        """Each query's key, made on first use: after what the queries read has come from the
        cache (:meth:`GivenAnalyzer.preload`), or been found (a relaxed run or two per query)."""
        if self._keys is None:
            with self._lock:
                if self._keys is None:
                    analyzer, limits = self.analyzer, self._limits
                    self._keys = {
                        name: GivenKey(reads, analyzer, limits) for name, reads in self._reads.items()
                    }
        return self._keys

    @property
    def unkeyed(self) -> dict[str, list[str]]:
        """The queries whose rows are not kept, and why (they run for every case)."""
        return {name: key.reads.reasons for name, key in self.keys.items() if not key.keyed}

    def prepare(self, given: Findings, measurements: Measurements) -> Prepared:
        """What :func:`kg.engine.inference.prepare` finds, each query's rows kept or run."""
        return prepare(self.rows, given, measurements)

    def rows(self, query: str, findings: Findings, measurements: Measurements) -> list[Row]:
        """A query's rows for the case: kept, assembled from kept blocks, or run."""
        key_of = self.keys[query]
        classes = frozenset(cls for _, cls in findings)
        key = None
        if key_of.keyed:
            key = key_of.key(classes, measurements)
            block_key = key_of.block_key(classes, measurements)
            kept = self._kept.get(query, key)
            if kept is None:
                kept = self._kept.assemble(query, key, key_of.split, block_key)
            if kept is not None:
                return key_of.rows(kept, measurements)
        rows = self.store.select(query, asserted_facts(CASE, findings, measurements), CASE)
        entries = None if key is None or names(rows, CASE) else key_of.entries(rows, measurements)
        if entries is not None:
            split = key_of.split
            item_of = (lambda entry: ()) if split is None else (lambda entry: split.item_of(entry[0]))
            if not self._kept.keep(query, key, split, block_key, entries, item_of):
                key_of.split = None
        return rows
