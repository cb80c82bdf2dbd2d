"""The ``kg`` command: serve, recommend, list the findings, dump the SPARQL dataset, and the editing tools."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from kg.config import REASONERS, Settings
from kg.model.case import Case
from kg.model.errors import CaseError, OntologyError
from kg.model.rejection import Loc, explain

if TYPE_CHECKING:
    from kg.knowledge_base import KnowledgeBase

#: The editing and measuring tools: command -> (module, help, description). A tool's module is
#: imported only when its command runs (it gives ``add_arguments(parser)`` and ``run(args, settings)``),
#: so ``kg recommend`` does not load the benchmark, the differ or the formatter.
TOOLS = {
    "validate": (
        "kg.tools.validation",
        "check the ontology folder: syntax, shapes, OWL 2 RL profile, consistency, QC, vignettes",
        "Exit 0: no violations; 1: violations (listed); 2: the validation could not run.",
    ),
    "diff": (
        "kg.tools.diff",
        "what an ontology edit changes: axioms per module, and the answers that change",
        "OLD and NEW are ontology folders or git revisions of this repository.",
    ),
    "fmt": (
        "kg.tools.fmt",
        "format the ontology's Turtle files",
        "Deterministic Turtle layout, comments kept: --check for CI, --diff to preview.",
    ),
    "audit": (
        "kg.tools.audit.command",
        "rate past imaging orders against the guideline: FHIR Bulk Data or CSV in, orders.csv and a "
        "summary out",
        "Each order's case as of its date, rated appropriate, may-be-appropriate, not-appropriate or "
        "no-criteria-apply against kg's answer.",
    ),
    "bench": (
        "kg.tools.bench.run",
        "measure the fast path against owlrl, and the HTTP service against a bare FastAPI app",
        "Prints a table (or --json): latencies, speedup, identical answers, HTTP throughput, "
        "cold start, batch throughput, memory.",
    ),
}

FINDINGS_HINT = "run `kg findings` or GET /findings for valid IDs"
MEASUREMENTS = ("age", "sex", "weeks", "egfr")


class _Rejected(Exception):
    """The command cannot go on; its message is one line per problem, for standard error."""

    def __init__(self, lines: Iterable[str]) -> None:
        super().__init__("\n".join(lines))


def _problem(loc: Loc, msg: str, kind: str) -> str:
    """("findings", 2) -> "findings[2]: msg; where the valid values are"."""
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "input"
    return f"{field}: {explain(loc, msg, kind, FINDINGS_HINT)}"


def _read_case(args: argparse.Namespace) -> Case:
    """The case from ``--input`` (a file, or - for standard input) or from ``--finding`` and measurements."""
    try:
        if args.input is None:
            return Case(
                findings=args.findings,
                age=args.age,
                sex=args.sex,
                symptom_duration_weeks=args.weeks,
                egfr=args.egfr,
            )
        given = [f"--{name}" for name in MEASUREMENTS if getattr(args, name) is not None]
        if given:
            raise _Rejected([f"{', '.join(given)}: goes with --finding; put it in the case JSON instead"])
        text = sys.stdin.read() if args.input == "-" else Path(args.input).read_bytes()
        return Case.model_validate_json(text)
    except OSError as exc:
        raise _Rejected([f"--input: cannot read {args.input}: {exc.strerror}"]) from None
    except ValidationError as exc:
        raise _Rejected(_problem(tuple(e["loc"]), e["msg"], e["type"]) for e in exc.errors()) from None


def _load(settings: Settings) -> KnowledgeBase:
    """The knowledge base the settings describe (imported here: ``kg fmt`` and ``--help`` need none)."""
    from kg.knowledge_base import KnowledgeBase

    return KnowledgeBase.from_settings(settings)


def _recommend(args: argparse.Namespace, settings: Settings) -> int:
    from kg.answer.readable import render

    case = _read_case(args)
    kb = _load(settings)
    try:
        answer = kb.recommend(case)
    except CaseError as exc:
        raise _Rejected([_problem(loc, message, "value_error") for loc, message in exc.problems]) from None
    print(answer.model_dump_json(indent=2) if args.json or args.input else render(answer, kb))
    return 0


def _findings(_: argparse.Namespace, settings: Settings) -> int:
    findings = _load(settings).findings
    width = max((len(f.id) for f in findings), default=0)
    for f in findings:
        print(f"{f.id:<{width}}  {f.label}" + (f"  [{', '.join(f.kinds)}]" if f.kinds else ""))
    return 0


def _dump(args: argparse.Namespace, settings: Settings) -> int:
    from kg.sparql.dataset import nquads

    kb = _load(settings)
    data = nquads(kb.ontology, kb.closed, canonical=True)
    if args.output == "-":
        sys.stdout.buffer.write(data)
        return 0
    try:
        Path(args.output).write_bytes(data)
    except OSError as exc:
        raise _Rejected([f"--output: cannot write {args.output}: {exc.strerror}"]) from None
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers < 1:
        raise _Rejected([f"--workers: {args.workers} is not a number of processes; give 1 or more"])
    # The HTTP stack is imported only here: the other commands start without it.
    import uvicorn

    from kg.api.main import create_app

    # Loaded here, not in the app's lifespan, so that a broken ontology is a message rather than a
    # traceback; this also fills the disk cache that more workers then start from.
    kb = _load(settings)
    if args.workers == 1:
        uvicorn.run(create_app(settings, kb), host=args.host, port=args.port)
    else:
        os.environ.update(settings.environment())
        uvicorn.run(
            "kg.api.main:create_app", factory=True, host=args.host, port=args.port, workers=args.workers
        )
    return 0


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kg", description="Imaging for low back pain: justified recommendations from a knowledge graph."
    )
    parser.add_argument(
        "--reasoner",
        choices=REASONERS,
        help="compiled: the fast path (default); owlrl: full owlrl closure per case, the normative reference",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP service (OpenAPI at /docs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (default 1: the most throughput measured on 2 cores, see README)",
    )
    serve.set_defaults(run=_serve)

    recommend = commands.add_parser(
        "recommend",
        help="recommend imaging for a case",
        description="Prints the answer: JSON with --input (or --json), readable text with --finding.",
    )
    source = recommend.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="FILE", help="a case JSON file, or - for standard input")
    source.add_argument("--finding", dest="findings", action="append", metavar="ID", help="a finding; repeat")
    recommend.add_argument("--age", type=float, help="age in years")
    recommend.add_argument("--sex", help="as in the case JSON")
    recommend.add_argument("--weeks", type=float, help="symptom duration in weeks")
    recommend.add_argument("--egfr", type=float, help="eGFR in mL/min/1.73 m2")
    recommend.add_argument("--json", action="store_true", help="print JSON with --finding too")
    recommend.set_defaults(run=_recommend)

    findings = commands.add_parser("findings", help="list the finding IDs a case may contain")
    findings.set_defaults(run=_findings)

    dump = commands.add_parser(
        "dump",
        help="write the SPARQL endpoint's dataset as N-Quads",
        description="The named graphs (asserted, inferred, one per module) and the default graph (their "
        "union), as /sparql queries them; load it into any SPARQL store.",
    )
    dump.add_argument(
        "--output", default="-", metavar="FILE", help="the file to write (default: standard output)"
    )
    dump.set_defaults(run=_dump)

    chosen = set(argv or ())
    for name, (module, help_text, description) in TOOLS.items():
        tool = commands.add_parser(name, help=help_text, description=description)
        if name in chosen:  # the command to run (or an argument spelt like it: a needless import at worst)
            loaded = importlib.import_module(module)
            loaded.add_arguments(tool)
            tool.set_defaults(run=loaded.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success, 2 on a rejected case or an ontology that does not load."""
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        args = _parser(argv).parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already explained
        return int(exc.code or 0)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"kg: {exc}", file=sys.stderr)
        return 2
    if args.reasoner:
        settings = replace(settings, reasoner=args.reasoner)
    try:
        return args.run(args, settings)
    except _Rejected as exc:
        print(exc, file=sys.stderr)
    except OntologyError as exc:
        print(f"kg: the ontology in {settings.ontology_dir} does not load: {exc}", file=sys.stderr)
    except BrokenPipeError:  # the reader of standard output has gone, e.g. `kg findings | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
