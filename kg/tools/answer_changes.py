"""How two knowledge bases answer the same cases differently: the vignettes, and generated cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.knowledge_base import KnowledgeBase
from kg.model.case import Case
from kg.model.errors import CaseError
from kg.tools.cases import CaseStream
from kg.tools.vignettes import SCENARIOS, case_body, load_cases

SHOWN = 20  # generated cases whose change the text report lists


class Unreadable(Exception):
    """An argument that cannot be read, or an ontology that does not load; the message is one line."""


def one_line(error: Exception) -> str:
    return " ".join(str(error).split())


@dataclass(frozen=True)
class Outcome:
    """What the diff compares of an answer: its urgency and first recommended procedure, or the rejection."""

    urgency: str | None = None
    first_procedure: str | None = None
    rejected: str | None = None

    @classmethod
    def of(cls, kb: KnowledgeBase, case: Case) -> Outcome:
        """The outcome of ``case`` in ``kb``."""
        try:
            answer = kb.recommend(case)
        except CaseError as error:
            return cls(rejected=error.message)
        recommendations = answer.recommendations
        return cls(answer.urgency, recommendations[0].procedure if recommendations else None)

    def text(self) -> str:
        """E.g. ``emergent, mri-lumbar-without-contrast``."""
        if self.rejected:
            return f"rejected ({self.rejected})"
        return f"{self.urgency}, {self.first_procedure or 'no imaging'}"

    def as_json(self) -> dict[str, str | None]:
        """``{"urgency", "first_procedure"}``, or ``{"rejected"}``."""
        if self.rejected:
            return {"rejected": self.rejected}
        return {"urgency": self.urgency, "first_procedure": self.first_procedure}


@dataclass(frozen=True)
class Change:
    """A case whose outcome differs between the two sides; ``id`` names a vignette."""

    case: Case
    before: Outcome
    after: Outcome
    id: str | None = None

    def text(self) -> str:
        """One line: the case, then before → after."""
        measurements = self.case.model_dump(exclude={"findings"}, exclude_none=True)
        case = ", ".join(self.case.findings) + "".join(f"; {k} {v}" for k, v in measurements.items())
        return f"{self.id or case}: {self.before.text()} → {self.after.text()}"

    def as_json(self) -> dict[str, Any]:
        """The case JSON and both outcomes (and the vignette's id)."""
        named = {"id": self.id} if self.id else {}
        return named | {
            "case": self.case.model_dump(exclude_none=True),
            "before": self.before.as_json(),
            "after": self.after.as_json(),
        }


def read_vignettes(path: Path | None) -> list[tuple[str, Case]] | None:
    """Each vignette's id and case; None if no file is given and the repository's is missing."""
    if path is None:
        if not SCENARIOS.is_file():
            return None
        path = SCENARIOS
    try:
        return [(vignette["id"], Case.model_validate(case_body(vignette))) for vignette in load_cases(path)]
    except OSError as error:
        problem = f"cannot read it: {error.strerror}"
    except KeyError as error:
        problem = f"not a vignette file: no {error} key"
    except (ValueError, TypeError) as error:  # TOML and pydantic errors are ValueErrors
        problem = one_line(error)
    raise Unreadable(f"--vignettes {path}: {problem}")


def vignette_changes(
    old: KnowledgeBase, new: KnowledgeBase, vignettes: list[tuple[str, Case]]
) -> list[Change]:
    """The vignettes whose outcome differs."""
    changes = [Change(case, Outcome.of(old, case), Outcome.of(new, case), name) for name, case in vignettes]
    return [change for change in changes if change.before != change.after]


@dataclass
class CaseReport:
    """Generated cases: how many were compared, and each whose outcome differs.

    A case with a finding only one side knows is counted (``new_finding``: only NEW knows it,
    ``removed_finding``: only OLD does), not compared.
    """

    seed: int
    drawn: int
    compared: int = 0
    new_finding: int = 0
    removed_finding: int = 0
    changes: list[Change] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The counts and every change."""
        return {
            "seed": self.seed,
            "drawn": self.drawn,
            "compared": self.compared,
            "changed": len(self.changes),
            "new_finding": self.new_finding,
            "removed_finding": self.removed_finding,
            "examples": [change.as_json() for change in self.changes],
        }


def case_changes(old: KnowledgeBase, new: KnowledgeBase, count: int, seed: int) -> CaseReport:
    """``count`` distinct random cases over the findings either side knows, answered by both."""
    report = CaseReport(seed, count)
    ids = sorted(old.finding_classes.keys() | new.finding_classes.keys())
    for body in CaseStream(ids, seed).bodies(count) if ids else []:
        case = Case(**body)
        if any(finding not in old.finding_classes for finding in case.findings):
            report.new_finding += 1
        elif any(finding not in new.finding_classes for finding in case.findings):
            report.removed_finding += 1
        else:  # a case either side rejects (out of scope, contradictory) is compared as such
            before, after = Outcome.of(old, case), Outcome.of(new, case)
            report.compared += 1
            if before != after:
                report.changes.append(Change(case, before, after))
    return report
