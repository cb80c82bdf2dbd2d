"""Distinct random cases, reproducible from a seed: the case generator ``kg bench`` and ``kg diff``
share, and the tests' differential checks."""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from kg.model.case import Case

if TYPE_CHECKING:
    pass


SEEN_BITS = 1 << 23  # 1 MiB: the generator's memory of the cases it has drawn (see CaseStream)


#: The share of drawn cases given low back pain, the usual presenting complaint (a case without one is
#: out of scope and rejected, unless it reaches an emergent or urgent presentation).
PAIN, PAIN_SHARE = "low-back-pain", 0.9


class CaseStream:
    """Distinct random case bodies (dicts of the case JSON), reproducible from the seed.

    Distinct means no two drawn cases have the same set of findings, age and eGFR. The cases
    already drawn are remembered as one bit of a fixed bit array per case hash, so the memory
    does not grow with the number of cases (and does not show in the RSS measurements); a case
    whose bit is set already is skipped, even if only its hash collides.
    """

    def __init__(self, finding_ids: list[str], seed: int) -> None:
        self._ids = sorted(finding_ids)
        self._rng = random.Random(seed)
        self._seen = bytearray(SEEN_BITS // 8)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        while True:
            body = self._draw()
            key = (sorted(body["findings"]), body.get("age"), body.get("egfr"))
            bit = zlib.crc32(repr(key).encode()) % SEEN_BITS
            if not self._seen[bit >> 3] & (1 << (bit & 7)):
                self._seen[bit >> 3] |= 1 << (bit & 7)
                return body

    def _draw(self) -> dict[str, Any]:
        rng = self._rng
        findings = rng.sample(self._ids, rng.randint(1, min(10, len(self._ids))))
        if rng.random() < PAIN_SHARE and PAIN in self._ids and PAIN not in findings:
            findings.insert(0, PAIN)  # the usual presenting complaint, as in most real cases
        body: dict[str, Any] = {"findings": findings}
        if rng.random() < 0.8:
            body["age"] = round(rng.uniform(0, 130), 1)
        if rng.random() < 0.7:
            body["egfr"] = round(rng.uniform(0, 200), 1)
        return body

    def bodies(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` case bodies."""
        return [next(self) for _ in range(count)]

    def cases(self, count: int) -> list[Case]:
        """The next ``count`` cases."""
        return [Case(**body) for body in self.bodies(count)]
