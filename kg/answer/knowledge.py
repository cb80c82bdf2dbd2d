"""What the answer layer reads of the loaded knowledge: a narrow view, so that turning a case into an
answer depends on the rules and vocabularies it uses, not on how they are loaded.
:class:`kg.knowledge_base.KnowledgeBase` is the one implementation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from rdflib import URIRef
from rdflib.term import Node

if TYPE_CHECKING:
    from kg.answer.axioms import Renderer
    from kg.answer.evaluation import Evaluation
    from kg.knowledge.cache import Memo
    from kg.knowledge.rulebook import RuleBook
    from kg.model.vocabulary import FindingInfo, ProcedureInfo


class Knowledge(Protocol):
    """The vocabularies, rule data, sources and renderer an answer is made of."""

    @property
    def version(self) -> str:
        """The ontology version every answer names."""
        ...

    @property
    def findings(self) -> list[FindingInfo]: ...

    @property
    def procedures(self) -> list[ProcedureInfo]: ...

    @property
    def finding_classes(self) -> dict[str, URIRef]: ...

    @property
    def finding_labels(self) -> dict[str, str]: ...

    @property
    def procedures_by_id(self) -> dict[str, ProcedureInfo]: ...

    @property
    def case_properties(self) -> dict[str, URIRef]: ...

    @property
    def sources(self) -> dict[Node, list[str]]: ...

    @property
    def rulebook(self) -> RuleBook: ...

    @property
    def renderer(self) -> Renderer: ...

    @property
    def evaluations(self) -> Memo[Evaluation]:
        """Evaluations kept by classification key (pure results of the knowledge)."""
        ...
