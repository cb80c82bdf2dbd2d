"""Rate each order against kg's answer for its case, and write ``orders.csv``, ``orders.parquet``,
``summary.json`` and ``report.html``.

Orders with equal cases share one answer (distinct cases are few next to orders: a department's
orders repeat the same presentations). The outputs are written to a temporary folder beside the
output folder and moved into place at the end, so that a failed run leaves no partial report that
looks complete.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg import DISCLAIMER
from kg.answer.rating import RATINGS, Verdict, rate
from kg.tools.audit.backends import Backend
from kg.tools.audit.inputs import Order, Read, stream_inputs
from kg.tools.audit.report import ParquetRows, html_report

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
PATTERNS_SHOWN = 10  # the most common not-appropriate patterns in the summary
PROBLEMS_SHOWN = 100  # problems listed in the summary (all are counted)


@dataclass
class Rated:
    """An order with its rating."""

    order: Order
    rating: str
    verdict: Verdict | None
    rejected: str


def rate_orders(orders: list[Order], evaluate: Backend) -> list[Rated]:
    """Each order rated (:func:`kg.answer.rating.rate`) against its case's verdict: what the answer
    for the case recommends and advises against (:meth:`KnowledgeBase.evaluate`, the answer without
    its what-if variants and assembly). The distinct cases are evaluated once each, by ``evaluate``
    (a backend of :mod:`kg.tools.audit.backends`)."""
    keys = [order.case.model_dump_json() if order.case is not None else None for order in orders]
    distinct = list(dict.fromkeys(key for key in keys if key is not None))
    outcomes = [outcome for _, _, part in evaluate(distinct) for outcome in part]
    by_case = dict(zip(distinct, outcomes, strict=True))
    rated = []
    for order, key in zip(orders, keys, strict=True):
        verdict, rejected = by_case[key] if key is not None else (None, order.rejected)
        rated.append(Rated(order, rate(order.ordered_procedure, verdict), verdict, rejected))
    return rated


def row(item: Rated, version: str) -> dict[str, str]:
    """An order's row of orders.csv."""
    order, verdict = item.order, item.verdict
    first = verdict.recommended[0] if verdict and verdict.recommended else None
    return {
        "order_id": order.order_id,
        "date": order.date,
        "month": order.date[:7],
        "service": order.service,
        "ordered_procedure": order.ordered_procedure or "",
        "ordered_code": order.ordered_code,
        "rating": item.rating,
        "urgency": verdict.urgency if verdict else "",
        "recommended_procedure": first[0] if first else "",
        "presentation": first[2] if first else "",
        "rejected": item.rejected,
        "ontology_version": version,
    }


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

    def add(self, rows: list[dict[str, str]]) -> None:
        """Count ``rows``."""
        for r in rows:
            rating = r["rating"]
            self.overall[rating] += 1
            for key, column in GROUPS:
                self.groups[key][r[column] or "(none)"][rating] += 1
            if rating == "not-appropriate":
                pattern = (r["ordered_procedure"], r["urgency"], r["recommended_procedure"])
                self.patterns[pattern] += 1
                self.examples.setdefault(pattern, r["order_id"])
            self.rejected += bool(r["rejected"])

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


def summary(rows: list[dict[str, str]], read: Read, version: str) -> dict[str, Any]:
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
        self._csv = csv.DictWriter(self._csv_file, fieldnames=COLUMNS)
        self._csv.writeheader()
        self._parquet = ParquetRows(self.staging / "orders.parquet", COLUMNS)

    def add(self, rows: list[dict[str, str]]) -> None:
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
    files: list[Path], book: CodeBook, kb: KnowledgeBase, evaluate: Backend, output: Path, scratch: Path
) -> dict[str, Any]:
    """``kg audit`` end to end: the inputs read a batch (a bucket) at a time
    (:func:`~kg.tools.audit.inputs.stream_inputs`, with ``scratch`` for the buckets), each batch's
    orders rated and written, the summary tallied; the report, once the output is in place."""
    read, batches = stream_inputs(files, book, scratch)
    tally = Tally()
    with Output(output) as out:
        for batch in batches:  # a bucket of the input at a time: memory stays bounded
            rows = [row(item, kb.version) for item in rate_orders(batch, evaluate)]
            tally.add(rows)
            out.add(rows)
        report = tally.report(read, kb.version)
        out.finish(report)
    return report


def write(output: Path, rows: list[dict[str, str]], report: dict[str, Any]) -> None:
    """orders.csv, orders.parquet, summary.json and report.html in ``output``, all or nothing."""
    with Output(output) as out:
        out.add(rows)
        out.finish(report)
