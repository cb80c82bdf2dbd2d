"""``kg audit``'s pipeline: the input cut into chunks, each read and rated by a backend
(:mod:`kg.tools.audit.rows`), and ``orders.csv``, ``orders.parquet``, ``summary.json`` and
``report.html`` written. The outputs are written to a temporary folder beside the output folder
and moved into place at the end, so that a failed run leaves no partial report that looks
complete.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg import DISCLAIMER
from kg.answer.rating import RATINGS
from kg.tools.audit.inputs import Read, chunks_of
from kg.tools.audit.report import ParquetRows, html_report
from kg.tools.audit.rows import COLUMNS, Row, collector_paused

if TYPE_CHECKING:
    from kg.knowledge_base import KnowledgeBase
    from kg.tools.audit.backends import Backend

PATTERNS_SHOWN = 10  # the most common not-appropriate patterns in the summary
PROBLEMS_SHOWN = 100  # problems listed in the summary (all are counted)


_AT = {name: index for index, name in enumerate(COLUMNS)}
#: The groups the summary counts ratings by, as (summary key, orders.csv column).
GROUPS = (
    ("by_procedure", "ordered_procedure"),
    ("by_service", "service"),
    ("by_presentation", "presentation"),
    ("by_month", "month"),
)


class Tally:
    """The summary's counts, kept as rows go by (a streamed audit never holds all its rows)."""

    def __init__(self) -> None:
        self.overall: Counter[str] = Counter()
        self.groups: dict[str, dict[str, Counter[str]]] = {key: defaultdict(Counter) for key, _ in GROUPS}
        self.patterns: Counter[tuple[str, str, str]] = Counter()
        self.examples: dict[tuple[str, str, str], str] = {}
        self.rejected = 0

    def add(self, rows: list[Row]) -> None:
        """Count ``rows``."""
        rating_at, rejected_at, id_at = _AT["rating"], _AT["rejected"], _AT["order_id"]
        pattern_at = (_AT["ordered_procedure"], _AT["urgency"], _AT["recommended_procedure"])
        groups = [(self.groups[key], _AT[column]) for key, column in GROUPS]
        for r in rows:
            rating = r[rating_at]
            self.overall[rating] += 1
            for counts, at in groups:
                counts[r[at] or "(none)"][rating] += 1
            if rating == "not-appropriate":
                pattern = (r[pattern_at[0]], r[pattern_at[1]], r[pattern_at[2]])
                self.patterns[pattern] += 1
                self.examples.setdefault(pattern, r[id_at])
            self.rejected += bool(r[rejected_at])

    def report(self, read: Read, version: str) -> dict[str, Any]:
        """The report's numbers: ratings overall and by procedure, service, presentation and month;
        the most common not-appropriate patterns with an example; unmapped codes; rejected orders;
        problems."""
        groups = {
            key: {name: _counts(counts) for name, counts in sorted(self.groups[key].items())}
            for key, _ in GROUPS
        }
        return {
            "ontology_version": version,
            "disclaimer": DISCLAIMER,
            "orders": sum(self.overall.values()),
            "overall": _counts(self.overall),
            **groups,
            "not_appropriate_patterns": [
                {
                    "ordered_procedure": ordered,
                    "urgency": urgency,
                    "recommended_procedure": recommended,
                    "orders": count,
                    "example_order": self.examples[ordered, urgency, recommended],
                }
                for (ordered, urgency, recommended), count in self.patterns.most_common(PATTERNS_SHOWN)
            ],
            "unmapped_codes": dict(read.unmapped.most_common()),
            "rejected_orders": self.rejected,
            "problems": len(read.problems),
            "problems_shown": [
                {"file": p.file, "line": p.line, "message": p.message} for p in read.problems[:PROBLEMS_SHOWN]
            ],
        }


def summary(rows: list[Row], read: Read, version: str) -> dict[str, Any]:
    """The report's numbers for ``rows`` (see :meth:`Tally.report`)."""
    tally = Tally()
    tally.add(rows)
    return tally.report(read, version)


def _counts(counts: Counter[str]) -> dict[str, Any]:
    total = sum(counts.values())
    return {
        "orders": total,
        **{rating: counts.get(rating, 0) for rating in RATINGS},
        "share_appropriate": round(counts.get("appropriate", 0) / total, 4) if total else None,
    }


class Output:
    """The output folder, written all or nothing: rows are added as they come (orders.csv and
    orders.parquet grow in a temporary folder beside the output), and :meth:`finish` writes
    summary.json and report.html and moves the folder into place (a folder already there is
    replaced). A context manager: leaving it without :meth:`finish` removes the temporary folder,
    so a failed run leaves the last complete report and no half one."""

    def __init__(self, output: Path) -> None:
        self.output = output.resolve()
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{self.output.name}-", dir=self.output.parent))
        umask = os.umask(0)
        os.umask(umask)
        self.staging.chmod(0o777 & ~umask)  # as a folder made with mkdir would be (mkdtemp makes it private)
        self._csv_file = (self.staging / "orders.csv").open("w", newline="")
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(COLUMNS)
        self._parquet = ParquetRows(self.staging / "orders.parquet", COLUMNS)

    def add(self, rows: list[Row]) -> None:
        """Append ``rows`` to orders.csv and orders.parquet."""
        self._csv.writerows(rows)
        self._parquet.add(rows)

    def finish(self, report: dict[str, Any]) -> None:
        """Write the summary and the report, and put the folder in place."""
        self._csv_file.close()
        self._parquet.close()
        (self.staging / "summary.json").write_text(json.dumps(report, indent=1) + "\n")
        (self.staging / "report.html").write_text(html_report(report))
        output = self.output
        if output.exists():
            old = output.with_name(f".{output.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(output, old)
            os.replace(self.staging, output)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.staging, output)

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.staging.exists():  # not finished
            self._csv_file.close()
            self._parquet.close()
            shutil.rmtree(self.staging, ignore_errors=True)


def audit(
    files: list[Path], kb: KnowledgeBase, backend: Backend, output: Path, scratch: Path
) -> dict[str, Any]:
    """``kg audit`` end to end: the inputs cut into chunks (:func:`~kg.tools.audit.inputs.chunks_of`,
    with ``scratch`` for the buckets), each chunk read and rated by the backend, its rows written
    and tallied as they come; the report, once the output is in place."""
    backend.start()
    read = Read()
    tally = Tally()
    with Output(output) as out, collector_paused() as collect:
        chunks = chunks_of(files, read, scratch)
        for _, _, part in backend(chunks):  # a chunk at a time: memory stays bounded
            read.problems += part.problems
            read.unmapped.update(part.unmapped)
            tally.add(part.rows)
            out.add(part.rows)
            del part
            collect()
        report = tally.report(read, kb.version)
        out.finish(report)
    return report


def write(output: Path, rows: list[Row], report: dict[str, Any]) -> None:
    """orders.csv, orders.parquet, summary.json and report.html in ``output``, all or nothing."""
    with Output(output) as out:
        out.add(rows)
        out.finish(report)
