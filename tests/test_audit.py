"""kg audit: orders from FHIR Bulk Data or CSV, rated against the answer for their case at order time."""

from __future__ import annotations

import csv
import gc
import importlib.util
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import JSON

from kg.answer.rating import Verdict, rate
from kg.cds.codes import code_book
from kg.cli import main
from kg.config import Settings
from kg.knowledge_base import KnowledgeBase
from kg.model.case import Case
from kg.model.errors import CaseError
from kg.tools.audit import backends
from kg.tools.audit import run as audit_run
from kg.tools.audit.inputs import FhirChunk, Read, chunks_of, read_inputs
from kg.tools.audit.rows import COLUMNS, collector_paused, rate_chunk, rate_orders, row
from kg.tools.audit.run import summary, write
from kg.tools.audit.synth import synthesize, write_export

SCT, LOINC = "http://snomed.info/sct", "http://loinc.org"
PAIN, WEAKNESS, FEVER = f"{SCT}|279039007", f"{SCT}|102568007", f"{SCT}|386661006"
XR, MRI_CONTRAST = f"{LOINC}|24970-6", f"{LOINC}|24967-2"


def concept(token: str) -> dict:
    system, _, code = token.partition("|")
    return {"coding": [{"system": system, "code": code}]}


def order(oid: str, patient: str, code: str, day: str, reasons: tuple[str, ...] = (PAIN,)) -> dict:
    return {
        "resourceType": "ServiceRequest",
        "id": oid,
        "subject": {"reference": f"Patient/{patient}"},
        "code": concept(code),
        "authoredOn": day,
        "reasonCode": [concept(r) for r in reasons],
        "requester": {"display": "Primary care"},
    }


def condition(cid: str, patient: str, code: str, recorded: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{patient}"},
        "code": concept(code),
        "recordedDate": recorded,
    }


def ndjson(path: Path, *resources: dict | str) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in resources))
    return path


def rated_by_id(kb: KnowledgeBase, *paths: Path) -> tuple[dict[str, str], object]:
    read = read_inputs(list(paths), code_book(kb))
    return {item.order.order_id: item.rating for item in rate_orders(read.orders, kb)}, read


def test_the_rating_compares_the_order_with_the_answer(kb: KnowledgeBase) -> None:
    answer = Verdict.of(kb.recommend(Case(findings=["low-back-pain", "leg-weakness"], age=45.0)))
    first, *alternatives = answer.recommended
    assert rate(first[0], answer) == "appropriate"
    lower = [r for r in alternatives if r[1] != first[1]]
    assert lower and all(rate(r[0], answer) == "may-be-appropriate" for r in lower)
    assert rate("xr-lumbar", answer) == "not-appropriate"  # on the do-not-order list
    assert rate(None, answer) == "no-criteria-apply"  # a code that names no kg procedure
    assert rate("xr-lumbar", None) == "no-criteria-apply"  # a rejected case


def test_hand_made_fhir_orders_are_rated_as_of_their_date(kb: KnowledgeBase, tmp_path: Path) -> None:
    patients = ndjson(
        tmp_path / "Patient.ndjson",
        {"resourceType": "Patient", "id": "a", "birthDate": "1970-05-01"},
        {"resourceType": "Patient", "id": "b", "birthDate": "1980-01-01"},
    )
    conditions = ndjson(
        tmp_path / "Condition.ndjson",
        condition("a1", "a", WEAKNESS, "2025-01-10"),
        condition("b1", "b", FEVER, "2025-03-01"),
        condition("b2", "b", WEAKNESS, "2025-06-01"),  # after b's first order: not in its case
    )
    orders = ndjson(
        tmp_path / "ServiceRequest.ndjson",
        order("xr-for-weakness", "a", XR, "2025-02-01"),
        order("mri-for-fever-and-weakness", "b", MRI_CONTRAST, "2025-07-01"),
        order("mri-for-fever-before-weakness", "b", MRI_CONTRAST, "2025-04-01"),
    )
    ratings, read = rated_by_id(kb, patients, conditions, orders)
    assert ratings["xr-for-weakness"] == "not-appropriate"  # radiographs for leg weakness
    assert ratings["mri-for-fever-and-weakness"] == "appropriate"  # suspected infection with a deficit
    assert ratings["mri-for-fever-before-weakness"] != "appropriate"  # the weakness came later
    assert read.problems == []


def test_a_febrile_iv_drug_user_in_the_csv_layout(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,date,ordered_procedure,findings,age,egfr,service\n"
        "1,2025-05-02,mri-lumbar-without-and-with-contrast,low-back-pain fever iv-drug-use,35,,ED\n"
        f"2,2025-05-03,{XR},low-back-pain;leg-weakness,50,,Primary care\n"
        "3,2025-05-04,xr-lumbar,low-back-pain,12,,Primary care\n"
        "4,2025-05-05,mri-lumbar-without-contrast,low-back-pain,abc,,Primary care\n"
    )
    ratings, read = rated_by_id(kb, path)
    assert ratings == {
        "1": "appropriate",  # MRI for a febrile IV drug user
        "2": "not-appropriate",  # radiographs for leg weakness (a LOINC code works too)
        "3": "no-criteria-apply",  # a child: out of scope, rejected
        "4": "no-criteria-apply",  # no case could be made: counted as a problem
    }
    [problem] = read.problems
    assert problem.line == 5 and "age" in problem.message


def test_a_csv_row_the_reader_refuses_and_a_line_that_is_not_utf8_are_problems(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(
        b"\xef\xbb\xbforder_id,date,ordered_procedure,findings,age\n"  # a byte order mark, as Excel writes
        b"1,2025-05-02,xr-lumbar,low-back-pain,40\n"
        + b"2,2025-05-02,xr-lumbar,"
        + b"x" * 200_000
        + b",40\n"
        + b"3,2025-05-03,xr-lumbar,low-back-pain,41\n"
        + b"4,2025-05-04,xr-lumbar,low-back-pain \xff,42\n"
        + b"5,2025-05-05,xr-lumbar,low-back-pain,43\n"
    )
    ratings, read = rated_by_id(kb, path)
    assert set(ratings) == {"1", "3", "5"}
    assert [(p.line, p.message.split(":")[0]) for p in read.problems] == [
        (3, "row not read"),
        (5, "not UTF-8 text (invalid start byte)"),
    ]


def test_the_flat_layout_in_parquet_with_typed_columns(kb: KnowledgeBase, tmp_path: Path) -> None:
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "orders.parquet"
    table = pa.table(
        {
            "order_id": ["1", "2", "3", "4"],
            "date": [datetime.date(2025, 5, d) for d in (2, 3, 4, 5)],
            "ordered_procedure": ["mri-lumbar-without-and-with-contrast", XR, "xr-lumbar", "xr-lumbar"],
            "findings": [
                ["low-back-pain", "fever", "iv-drug-use"],
                ["low-back-pain", "leg-weakness"],
                [],
                None,
            ],
            "age": [35.0, 50.0, None, 40.0],
            "service": ["ED", "Primary care", None, "Primary care"],
        }
    )
    pq.write_table(table, path, row_group_size=2)
    ratings, read = rated_by_id(kb, path)
    assert ratings == {
        "1": "appropriate",  # MRI for a febrile IV drug user
        "2": "not-appropriate",  # radiographs for leg weakness (a LOINC code works too)
        "3": "no-criteria-apply",  # no findings: no case, a problem
        "4": "no-criteria-apply",  # findings null: the same
    }
    assert [p.line for p in read.problems] == [3, 4]  # the row numbers
    assert [o.date for o in read.orders] == ["2025-05-02", "2025-05-03", "2025-05-04", "2025-05-05"]
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    _, read = rated_by_id(kb, broken)
    [problem] = read.problems
    assert problem.file == str(broken) and "not a Parquet file" in problem.message


def test_a_damaged_parquet_row_group_is_a_problem_after_the_rows_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kg.tools.audit import inputs

    monkeypatch.setattr(inputs, "CSV_ROWS", 10)  # a chunk a row group
    path = tmp_path / "orders.parquet"
    rows = 30
    columns = {"order_id": [str(i) for i in range(rows)], "date": ["2025-01-01"] * rows}
    table = pa.table({**columns, "ordered_procedure": ["xr-lumbar"] * rows})
    pq.write_table(table, path, row_group_size=10, compression="none")
    data = bytearray(path.read_bytes())
    start = pq.ParquetFile(path).metadata.row_group(1).column(0).data_page_offset
    data[start : start + 40] = b"\xff" * 40  # the second row group's first page header
    path.write_bytes(bytes(data))
    read = Read()
    chunks = list(chunks_of([path], read, tmp_path))
    assert [len(chunk.rows) for chunk in chunks] == [10]  # the first row group
    [problem] = read.problems
    assert problem.line == 11 and problem.message.startswith("not readable from here on")


def test_bad_lines_are_counted_with_file_and_line_and_the_rest_is_read(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    path = ndjson(
        tmp_path / "mixed.ndjson",
        {"resourceType": "Patient", "id": "a", "birthDate": "1970-05-01"},
        "{not json",
        {"resourceType": "MedicationRequest", "id": "m"},
        order("orphan", "nobody", XR, "2025-02-01"),
        order("unknown-code", "a", f"{LOINC}|00000-0", "2025-02-01"),
        order("fine", "a", XR, "2025-02-01"),
        "[1, 2]",
    )
    ratings, read = rated_by_id(kb, path)
    problems = {(p.line, p.message.split(":")[0]) for p in read.problems}
    assert (2, "not JSON") in problems and (7, "not a FHIR resource (a JSON object)") in problems
    assert any(line == 3 and "MedicationRequest" in message for line, message in problems)
    assert any(line == 4 and "ServiceRequest orphan" in message for line, message in problems)
    assert ratings["orphan"] == ratings["unknown-code"] == "no-criteria-apply"
    assert ratings["fine"] == "not-appropriate"  # radiographs for plain low back pain
    assert read.unmapped == {f"ServiceRequest code {LOINC}|00000-0": 1}


def test_the_demo_export_end_to_end_matches_answering_each_case_alone(
    kb: KnowledgeBase, tmp_path: Path, cli_kb: KnowledgeBase
) -> None:
    assert main(["audit", "--demo", "400", "--seed", "3", "--output", str(tmp_path / "report")]) == 0
    with (tmp_path / "report" / "orders.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 400 and tuple(rows[0]) == COLUMNS
    ratings = {r["rating"] for r in rows}
    assert {"appropriate", "not-appropriate", "no-criteria-apply"} <= ratings
    report = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert report["orders"] == 400 and report["overall"]["orders"] == 400
    assert (
        sum(
            report["overall"][r]
            for r in ("appropriate", "may-be-appropriate", "not-appropriate", "no-criteria-apply")
        )
        == 400
    )
    assert sum(month["orders"] for month in report["by_month"].values()) == 400
    assert report["unmapped_codes"] and report["not_appropriate_patterns"][0]["example_order"]
    assert {r["ontology_version"] for r in rows} == {kb.version}
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "report" / "orders.parquet").to_pylist()
    assert table == rows  # the same orders, column for column
    page = (tmp_path / "report" / "report.html").read_text()
    assert page.count("<svg") >= 4 and f"{100 * report['overall']['share_appropriate']:.1f}%" in page
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page), "self-contained: nothing fetched"
    assert "<script" not in page and kb.version in page and "Decision support only" in page
    # each order as if asked alone: the same export read again, each case answered afresh
    export = synthesize(code_book(kb), 400, seed=3)
    read = read_inputs(write_export(export, tmp_path / "export"), code_book(kb))
    for order, written in zip(read.orders, rows, strict=True):
        try:
            answer = Verdict.of(kb.recommend(order.case)) if order.case is not None else None
        except CaseError:
            answer = None
        assert rate(order.ordered_procedure, answer) == written["rating"], order.order_id


def test_a_failed_write_leaves_no_report(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = read_inputs(write_export(synthesize(code_book(kb), 20), tmp_path / "export"), code_book(kb))
    rows = [row(item, kb.version) for item in rate_orders(read.orders, kb)]
    report = summary(rows, read, kb.version)
    output = tmp_path / "report"
    write(output, rows, report)
    before = (output / "orders.csv").read_bytes()

    def broken(*args: object, **kwargs: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audit_run.json, "dumps", broken)
    with pytest.raises(OSError):
        write(output, rows[:5], report)
    assert (output / "orders.csv").read_bytes() == before  # the last complete report stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "report"]  # no half-written folder


def test_the_command_refuses_what_it_cannot_audit(
    tmp_path: Path, cli_kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--output", str(tmp_path / "out")]) == 2
    assert "give INPUT files or folders, or --demo N" in capsys.readouterr().err
    assert main(["audit", str(tmp_path / "missing.ndjson"), "--output", str(tmp_path / "out")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["audit", "--demo", "0", "--output", str(tmp_path / "out")]) == 2
    assert main(["audit", "--demo", "5", "--workers", "0", "--output", str(tmp_path / "out")]) == 2
    assert "--workers: give a number of processes from 1 to 256" in capsys.readouterr().err
    if importlib.util.find_spec("distributed"):
        unreachable = [
            "audit",
            "--demo",
            "5",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--output",
            str(tmp_path / "out"),
        ]
        assert main(unreachable) == 2
        assert "--scheduler tcp://127.0.0.1:9: the cases could not be evaluated" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_process_pool_and_a_dask_cluster_give_the_same_rows_with_the_knowledge_loaded_once_per_worker(
    kb: KnowledgeBase, tmp_path: Path, shipped_cache: Path
) -> None:
    pytest.importorskip("distributed")
    settings = replace(Settings.from_env(), cache_dir=shipped_cache, watch=False)
    files = write_export(synthesize(code_book(kb), 300, seed=5), tmp_path / "export")
    files.append(ndjson(tmp_path / "bad.ndjson", "{not json", order("orphan", "nobody", XR, "2025-02-01")))
    read = read_inputs(files, code_book(kb))
    expected = [row(item, kb.version) for item in rate_orders(read.orders, kb)]
    chunks = list(chunks_of(files, Read(), tmp_path, bucket_bytes=40_000))  # more chunks than workers
    assert len(chunks) > 4
    here = [part for _, _, part in backends.in_process(kb, lambda done: None)(chunks)]
    assert sorted(r for part in here for r in part.rows) == sorted(expected)  # chunks cut whole patients
    for workers in (
        backends.process_pool(settings, 2, lambda done: None),
        backends.dask_cluster(settings, None, 2, lambda done: None),
    ):
        with workers as backend:  # the processes or the cluster stop after
            done = list(backend(chunks))
            assert len({pid for pid, _, _ in done}) <= 2 and {loads for _, loads, _ in done} == {1}
            assert [part for _, _, part in done] == here  # chunk for chunk, row for row


def test_a_streamed_export_in_buckets_gives_the_ratings_of_reading_it_whole(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    book = code_book(kb)
    files = write_export(synthesize(book, 400, seed=4), tmp_path / "export")
    files.append(ndjson(tmp_path / "bad.ndjson", "{not json", order("orphan", "nobody", XR, "2025-02-01")))
    whole = read_inputs(files, book)
    expected = {i.order.order_id: i.rating for i in rate_orders(whole.orders, kb)}
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    read = Read()
    got: dict[str, str] = {}
    sizes = []
    for chunk in chunks_of(files, read, scratch, bucket_bytes=40_000):  # several buckets
        part = rate_chunk(kb, book, chunk)
        sizes.append(len(part.rows))
        got.update((r[0], r[COLUMNS.index("rating")]) for r in part.rows)
        read.problems += part.problems
        read.unmapped.update(part.unmapped)
    assert len(sizes) > 3 and max(sizes) < 400  # one bucket at a time, none holding all
    assert got == expected  # every order, as rated from the whole export
    assert sorted((p.line, p.message[:8]) for p in read.problems) == sorted(
        (p.line, p.message[:8]) for p in whole.problems
    )
    assert read.unmapped == whole.unmapped and list(scratch.iterdir()) == []  # buckets removed


@pytest.mark.slow
def test_100000_generated_orders_are_rated_as_answering_each_case_alone(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """The batch path (each distinct case's evaluation, without the what-if variants) against the
    whole answer for each case, on 100,000 orders of a synthetic export."""
    book = code_book(kb)
    read = read_inputs(write_export(synthesize(book, 100_000, seed=12), tmp_path / "export"), book)
    rated = rate_orders(read.orders, kb)
    alone: dict[str, object] = {}
    for item in rated:
        case = item.order.case
        if case is None:
            assert item.rating == "no-criteria-apply"
            continue
        key = case.model_dump_json()
        if key not in alone:
            try:
                alone[key] = Verdict.of(kb.recommend(case))
            except CaseError:
                alone[key] = None
        assert item.verdict == alone[key], item.order.order_id
        assert item.rating == rate(item.order.ordered_procedure, alone[key]), item.order.order_id
    assert len(rated) == 100_000 and len(alone) > 10_000


def test_the_cycle_collector_is_paused_for_a_chunk_and_restored_after() -> None:
    gc.unfreeze()  # what a server's lifespan in this process froze (freezing only spares it scans)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    with collector_paused() as collect:
        assert not gc.isenabled() and gc.get_freeze_count() > 0  # what was there: out of the scans
        with collector_paused() as inner:  # a chunk rated in the process that writes
            assert not gc.isenabled()
            inner()
        collect()
        assert not gc.isenabled() and gc.get_freeze_count() > 0
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.freeze()  # frozen by someone else (a server): left frozen
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled() and gc.get_freeze_count() > 0
    gc.unfreeze()


@pytest.mark.slow
def test_kg_bench_measures_the_three_backends_in_a_fresh_process(shipped_cache: Path) -> None:
    pytest.importorskip("distributed")
    from kg.tools.bench.audit import audit_rates

    settings = replace(Settings.from_env(), cache_dir=shipped_cache, watch=False)
    rates = audit_rates(settings, 300, seed=2)  # one process, 2 processes, a 2-worker LocalCluster
    assert len(rates) == 3 and all(rate > 0 for rate in rates)


#: Fields of the resources an audit reads (each may hold anything in a strange export).
FIELDS = {
    "Patient": ("id", "birthDate"),
    "Condition": (
        "subject",
        "code",
        "clinicalStatus",
        "verificationStatus",
        "onsetDateTime",
        "recordedDate",
        "abatementDateTime",
    ),
    "Observation": (
        "subject",
        "code",
        "status",
        "effectiveDateTime",
        "issued",
        "valueQuantity",
        "valueCodeableConcept",
    ),
    "ServiceRequest": (
        "id",
        "subject",
        "code",
        "authoredOn",
        "occurrenceDateTime",
        "requester",
        "reasonCode",
    ),
}


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(sorted(FIELDS)), data=st.data())
def test_strange_fhir_never_stops_an_audit(kb: KnowledgeBase, kind: str, data: st.DataObject) -> None:
    """Whatever stands in a field a resource an audit reads, the chunk is read and rated: the order
    is rated (or rejected, or its patient missing: a problem), never an exception."""
    resources: dict[str, dict] = {
        "Patient": {"resourceType": "Patient", "id": "p", "birthDate": "1970-01-01"},
        "Condition": condition("c", "p", WEAKNESS, "2025-01-01"),
        "Observation": {
            "resourceType": "Observation",
            "subject": {"reference": "Patient/p"},
            "status": "final",
            "code": concept(f"{LOINC}|33914-3"),
            "valueQuantity": {"value": 40},
            "effectiveDateTime": "2025-01-01",
        },
        "ServiceRequest": order("o", "p", XR, "2025-02-01"),
    }
    field = data.draw(st.sampled_from(FIELDS[kind]))
    resources[kind][field] = data.draw(JSON)
    lines = b"".join(
        b"0\t%d\t%s\n" % (number, json.dumps(resource).encode())
        for number, resource in enumerate(resources.values(), start=1)
    )
    part = rate_chunk(kb, code_book(kb), FhirChunk(("export.ndjson",), lines))
    assert len(part.rows) == 1 and len(part.rows[0]) == len(COLUMNS)  # the order, rated or not
