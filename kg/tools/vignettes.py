"""Clinical vignettes (cases with expected answers) and the check every answer must pass.

``DERIVED``, ``check_answer`` and ``case_body`` are copied from ``../shared/tools/vignette_check.py`` so
that the suite and ``kg validate`` run on a fresh clone; keep them in sync with it (and
``tests/scenarios/public.toml`` with ``../shared/vignettes/public.toml``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from kg.config import SCENARIOS

"""The public vignettes, as copied into the repository."""
DERIVED = [
    "older-age",
    "severe-renal-impairment",
    "age-over-50",
]  # findings the contract derives from age and egfr


def load_cases(path: Path = SCENARIOS) -> list[dict]:
    """The ``[[case]]`` tables of a vignette file."""
    return tomllib.loads(path.read_text())["case"]


def check_answer(case: dict, ans: dict) -> list[str]:
    """What the answer gets wrong against the case's expectations."""
    e, bad = case["expect"], []
    recs = ans.get("recommendations") or []
    first = recs[0] if recs else {}
    ids = [r.get("procedure") for r in recs]
    if "urgency" in e and ans.get("urgency") != e["urgency"]:
        bad.append(f"urgency {ans.get('urgency')!r} != {e['urgency']!r}")
    if "first_procedure" in e and first.get("procedure") != e["first_procedure"]:
        bad.append(f"first {first.get('procedure')!r} != {e['first_procedure']!r}")
    if "first_modality" in e and first.get("modality") != e["first_modality"]:
        bad.append(f"first modality {first.get('modality')!r} != {e['first_modality']!r}")
    if "first_contrast" in e and first.get("contrast") != e["first_contrast"]:
        bad.append(f"first contrast {first.get('contrast')!r} != {e['first_contrast']!r}")
    if "first_appropriateness" in e and first.get("appropriateness") != e["first_appropriateness"]:
        bad.append(
            f"first appropriateness {first.get('appropriateness')!r} != {e['first_appropriateness']!r}"
        )
    for p in e.get("recommended_includes", []):
        if p not in ids:
            bad.append(f"{p} not recommended")
    cav = [c.get("id") if isinstance(c, dict) else c for c in ans.get("caveats") or []]
    for c in e.get("caveats_include", []):
        if c not in cav:
            bad.append(f"caveat {c} missing")
    for c in e.get("caveats_exclude", []):
        if c in cav:
            bad.append(f"caveat {c} shown")
    if e.get("no_recommendations") and recs:
        bad.append(f"expected no recommendations, got {ids}")
    for p in e.get("not_recommended", []):
        if p in ids:
            bad.append(f"{p} recommended")
    for c in e.get("suspected_includes", []):
        if c not in (ans.get("suspected_conditions") or []):
            bad.append(f"{c} not suspected")
    dno = [d.get("procedure") for d in ans.get("do_not_order") or []]
    for p in e.get("do_not_order_includes", []):
        if p not in dno:
            bad.append(f"{p} not in do_not_order")
    for p in e.get("do_not_order_excludes", []):
        if p in dno:
            bad.append(f"{p} in do_not_order")
    both = set(ids) & set(dno)
    if both:
        bad.append(f"recommended and do-not-order at once: {sorted(both)}")
    if len(set(ids)) != len(ids):
        bad.append(f"a procedure is recommended twice: {ids}")
    if (ans.get("urgency") == "none") != (not recs):
        bad.append("urgency none must come with no recommendations, and any other urgency with some")
    nxt = ans.get("assess_next") or []
    for f in e.get("assess_next_includes", []):
        if f not in nxt:
            bad.append(f"{f} not in assess_next")
    given = [f for f in nxt if f in case["findings"]]
    if given:
        bad.append(f"assess_next repeats given findings {given}")
    for r in recs:
        if not r.get("sources"):
            bad.append(f"{r.get('procedure')} has no sources")
    steps = ans.get("justification") or []
    if not steps:
        bad.append("no justification")
    elif not any(s.get("finding") in [*case["findings"], *DERIVED] for s in steps):
        bad.append("justification names none of the input or derived findings")
    return bad


def case_body(case: dict) -> dict:
    """The case JSON of a vignette: everything but its id, note and expectations."""
    return {k: v for k, v in case.items() if k not in ("id", "note", "expect")}


def check_status(case: dict, status: int, body: bytes) -> list[str]:
    """A case expected to be rejected (expect.rejected = true) must get 422; any other case 200."""
    if case["expect"].get("rejected"):
        return [] if status == 422 else [f"expected HTTP 422 (rejected), got {status}"]
    return [] if status == 200 else [f"HTTP {status} {body[:160]!r}"]
