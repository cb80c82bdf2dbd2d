"""``kg audit``: rate past imaging orders against the guideline (see README "Batch audit")."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from tqdm import tqdm

from kg.cds.codes import code_book
from kg.config import Settings
from kg.knowledge_base import KnowledgeBase
from kg.tools.audit.backends import Backend, WorkersFailed, dask_cluster, in_process, process_pool
from kg.tools.audit.inputs import FLAT_SUFFIXES
from kg.tools.audit.run import audit
from kg.tools.audit.synth import generate, write_export


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``kg audit``."""
    parser.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        metavar="INPUT",
        help="FHIR Bulk Data NDJSON files or folders of them (*.ndjson), or flat files (*.csv, *.parquet)",
    )
    parser.add_argument(
        "--output", type=Path, required=True, help="the folder to write orders.csv and summary.json to"
    )
    parser.add_argument(
        "--demo",
        type=int,
        metavar="N",
        help="audit a synthetic export of N orders (written to a temporary folder, removed after)",
    )
    parser.add_argument("--seed", type=int, default=1, help="the synthetic export's seed (with --demo)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="read and rate in N processes of this machine (with --cluster local: N Dask workers)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--cluster", choices=["local"], help="local: a Dask LocalCluster of --workers processes (default 2)"
    )
    where.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786")


def _files(inputs: list[Path]) -> list[Path]:
    """The input files: each file given, and the *.ndjson, *.csv and *.parquet files of each folder given;
    raises FileNotFoundError naming an input that is neither."""
    files = []
    for path in inputs:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in (".ndjson", *FLAT_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"kg audit: {path}: no such file or folder")
    return files


def _backend(
    args: argparse.Namespace, settings: Settings, kb: KnowledgeBase, progress: Callable[[int], object]
) -> Backend:
    """Where the cases are evaluated: here, a process pool, or a Dask cluster."""
    if args.scheduler:
        return dask_cluster(settings, args.scheduler, args.workers, progress)
    if args.cluster == "local":
        return dask_cluster(settings, None, args.workers if args.workers > 1 else 2, progress)
    if args.workers > 1:
        return process_pool(settings, args.workers, progress)
    return in_process(kb, progress)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Read, rate, write; 0 when the report was written (problems in the input are in it), 2 when
    there was nothing to audit or it could not be written."""
    if args.demo is None and not args.inputs:
        print("kg audit: give INPUT files or folders, or --demo N", file=sys.stderr)
        return 2
    if args.demo is not None and not 1 <= args.demo <= 10_000_000:
        print("kg audit: --demo: give a number of orders from 1 to 10,000,000", file=sys.stderr)
        return 2
    if not 1 <= args.workers <= 256:
        print("kg audit: --workers: give a number of processes from 1 to 256", file=sys.stderr)
        return 2
    try:
        files = _files(args.inputs)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    kb = KnowledgeBase.from_settings(settings)
    book = code_book(kb)
    with tempfile.TemporaryDirectory() as scratch:
        if args.demo is not None:
            files += write_export(generate(book, args.demo, args.seed), Path(scratch) / "export")
        start = time.perf_counter()
        try:
            with (
                tqdm(unit=" orders", disable=None, desc="rating") as bar,
                closing(_backend(args, settings, kb, bar.update)) as backend,
            ):
                report = audit(files, kb, backend, args.output, Path(scratch))
        except WorkersFailed as exc:  # a cluster that cannot be reached or started
            where = f"--scheduler {args.scheduler}" if args.scheduler else "the worker processes"
            print(f"kg audit: {where}: the cases could not be evaluated: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"kg audit: {exc.filename or args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    seconds = time.perf_counter() - start
    overall, orders = report["overall"], report["orders"]
    print(
        f"{orders:,} orders in {seconds:.1f} s ({orders / max(seconds, 1e-9):,.0f}/s): "
        f"{overall['share_appropriate']:.1%} appropriate; {report['problems']} input problems; "
        f"written to {args.output}/orders.csv and summary.json"
        if orders
        else f"no orders found; {report['problems']} input problems",
        file=sys.stderr,
    )
    return 0
