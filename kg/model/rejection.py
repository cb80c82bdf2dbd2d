"""How a rejected case is explained: each message names the field and where its valid values are."""

from __future__ import annotations

from kg.model.case import Case

Loc = tuple[str | int, ...]


def explain(loc: Loc, msg: str, kind: str, findings_hint: str) -> str:
    """``msg`` completed with where the valid values are; ``loc`` is relative to the case."""
    if kind == "extra_forbidden":
        return f"{msg}; valid fields are {', '.join(Case.model_fields)}"
    if loc[:1] == ("findings",) and "/findings" not in msg:  # unless the core's message already says
        return f"{msg}; {findings_hint}"
    return msg
