"""What one presentation's classification implies, as the procedure rules build it: the evaluation
an answer is assembled from (kept per classification key by the knowledge base)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib.term import Node

from kg.knowledge.rulebook import Advice


@dataclass
class Draft:
    """A recommendation while the procedure rules are applied to the list."""

    procedure: str
    appropriateness: str
    rationale: str
    presentation: str
    sources: set[str]


@dataclass(frozen=True)
class AppliedRule:
    """A procedure rule that changed the list: the rule, the classes it applies to, what it put in place."""

    rule: Node
    label: str
    classes: tuple[Node, ...]
    procedure: str


@dataclass
class Evaluation:
    """What one presentation's classification implies."""

    urgency: str
    urgency_rank: int
    urgency_meaning: str
    applicable: frozenset[Node] = frozenset()
    recommendations: list[Draft] = field(default_factory=list)
    applied_rules: list[AppliedRule] = field(default_factory=list)
    do_not_order: dict[str, list[Advice]] = field(default_factory=dict)
    listed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def first_procedure(self) -> str | None:
        """The recommended procedure, if any."""
        return self.recommendations[0].procedure if self.recommendations else None
