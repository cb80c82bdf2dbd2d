"""The inputs of an audit, cut into chunks that can each be read alone, and read.

Two layouts. **FHIR Bulk Data** NDJSON (the ``$export`` format, a resource a line; any file name):
ServiceRequest (the imaging orders), Patient, Condition and Observation, joined by
:mod:`kg.tools.audit.joins`. **Flat** CSV or Parquet, one order a row (see README "Batch audit"). A code that
names nothing kg knows is counted, never dropped silently. Bad input (a malformed line, a resource
of another type, an order of a patient not in the export) is a
:class:`~kg.tools.audit.orders.Problem` with its file and line, and the rest is read.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from kg.cds.codes import CodeBook
from kg.model.case import Case
from kg.tools.audit.joins import by_type, read_fhir
from kg.tools.audit.orders import Order, Problem, Read, day, patient_of

__all__ = [
    "Chunk",
    "FhirChunk",
    "FlatChunk",
    "Order",
    "Problem",
    "Read",
    "chunks_of",
    "read_chunk",
    "read_inputs",
]

#: Columns of the flat layout, CSV or Parquet (order_id, date and ordered_procedure required).
CSV_COLUMNS = (
    "order_id",
    "date",
    "ordered_procedure",
    "findings",
    "age",
    "egfr",
    "sex",
    "symptom_duration_weeks",
    "service",
)
MAX_LINE_BYTES = 1 << 20  # a resource over 1 MB is a problem, not read


def read_inputs(paths: Iterable[Path], book: CodeBook) -> Read:
    """The orders of every file (``*.csv`` flat, anything else NDJSON), all in memory."""
    paths = list(paths)
    read = Read()
    for chunk in chunks_of(paths, read, Path(), bucket_bytes=None):
        part = read_chunk(chunk, book)
        read.orders += part.orders
        read.problems += part.problems
        read.unmapped.update(part.unmapped)
    return read


#: A bucket's size on disk: what one worker of an audit holds in memory at a time (as Python
#: objects, some ten times this). Small enough that two workers have several each in a 100,000-order
#: export; larger ones were no faster in one process.
BUCKET_BYTES = 8 << 20
#: Bucket files at most (each open while the input is cut): beyond 4 GB, buckets grow instead.
BUCKETS_MAX = 512
#: CSV rows read at a time by a streamed audit.
CSV_ROWS = 100_000


@dataclass(frozen=True)
class FhirChunk:
    """NDJSON lines that hold whole patients (each Patient with its orders, conditions and
    observations): one line per resource, ``FILE-INDEX\\tLINE\\tJSON``, FILE-INDEX into ``files``.
    Bytes, so that a chunk goes to a worker process or a Dask worker as one buffer."""

    files: tuple[str, ...]
    lines: bytes


@dataclass(frozen=True)
class FlatChunk:
    """Rows of a flat file (CSV or Parquet) as text by column, each with its line number (the row
    number in a Parquet file)."""

    file: str
    rows: tuple[tuple[int, dict[str, str]], ...]


Chunk = FhirChunk | FlatChunk
#: The suffixes of the flat layout's files (any other file is read as NDJSON).
FLAT_SUFFIXES = (".csv", ".parquet")


def chunks_of(
    paths: list[Path], read: Read, scratch: Path, bucket_bytes: int | None = BUCKET_BYTES
) -> Iterator[Chunk]:
    """The inputs in chunks that each fit in memory and can be read alone (:func:`read_chunk`);
    what is found wrong on the way goes to ``read.problems``. The chunks depend on the input
    alone, not on who reads them, so that every backend writes the same files.

    NDJSON of at most ``bucket_bytes`` (None: no bound) in all is one chunk. More is parsed once
    here to find each resource's patient (a Patient by its id, the others by their subject), and
    each line goes to one of several bucket files in ``scratch`` by its patient (about
    ``bucket_bytes`` each, at most :data:`BUCKETS_MAX`), so that a patient's orders, conditions
    and observations meet in one bucket: each bucket is then a chunk. The rows of a flat file (CSV
    or Parquet) come in chunks of :data:`CSV_ROWS`."""
    for path in paths:
        if path.suffix.lower() == ".csv":
            yield from _csv_chunks(path, read)
        elif path.suffix.lower() == ".parquet":
            yield from _parquet_chunks(path, read)
    ndjson = [p for p in paths if p.suffix.lower() not in FLAT_SUFFIXES]
    if not ndjson:
        return
    names = tuple(str(p) for p in ndjson)
    size = sum(p.stat().st_size for p in ndjson)
    count = 1 if bucket_bytes is None else min(BUCKETS_MAX, -(-size // bucket_bytes))
    if count <= 1:
        lines = bytearray()
        for index, path in enumerate(ndjson):
            for number, raw in _lines(path, read):
                lines += b"%d\t%d\t%s\n" % (index, number, raw)
        yield FhirChunk(names, bytes(lines))
        return
    for bucket in _bucketed(ndjson, read, scratch, count):
        lines = bucket.read_bytes()
        bucket.unlink()
        yield FhirChunk(names, lines)


def read_chunk(chunk: Chunk, book: CodeBook) -> Read:
    """The orders of a chunk, with the problems and unmapped codes found in it."""
    read = Read()
    if isinstance(chunk, FlatChunk):
        read_flat_rows(chunk, book, read)
        return read
    resources = []
    for text in chunk.lines.splitlines():
        index, line, raw = text.split(b"\t", 2)
        resource = _resource(chunk.files[int(index)], int(line), raw, read)
        if resource is not None:
            resources.append((chunk.files[int(index)], int(line), resource))
    read_fhir(by_type(resources, read), book, read)
    return read


def _bucketed(paths: list[Path], read: Read, scratch: Path, count: int) -> list[Path]:
    """Each resource's line, as read, into one of ``count`` bucket files by its patient (with the
    number of its file among ``paths`` and its line number)."""
    buckets = [scratch / f"bucket-{n}.tsv" for n in range(count)]
    files = [bucket.open("wb") for bucket in buckets]
    try:
        for index, path in enumerate(paths):
            for number, raw in _lines(path, read):
                resource = _resource(str(path), number, raw, read)
                if resource is None:
                    continue
                patient = (
                    resource.get("id") if resource.get("resourceType") == "Patient" else patient_of(resource)
                )
                target = files[zlib.crc32(str(patient).encode()) % count]
                target.write(b"%d\t%d\t%s\n" % (index, number, raw))
    finally:
        for file in files:
            file.close()
    return buckets


def _lines(path: Path, read: Read) -> Iterator[tuple[int, bytes]]:
    """The lines of an NDJSON file that are not blank, with their numbers, without their line
    break; a line over :data:`MAX_LINE_BYTES` is a problem, not read."""
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE_BYTES:
                read.problems.append(Problem(str(path), number, f"over {MAX_LINE_BYTES:,} bytes: not read"))
                continue
            yield number, raw


def _resource(path: str, number: int, raw: bytes, read: Read) -> dict[str, Any] | None:
    """The resource of a line (orjson: the parse is most of reading an export), or None and a
    problem."""
    try:
        resource = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        read.problems.append(Problem(path, number, f"not JSON: {error}"))
        return None
    if not isinstance(resource, dict):
        read.problems.append(Problem(path, number, "not a FHIR resource (a JSON object)"))
        return None
    return resource


def _csv_chunks(path: Path, read: Read) -> Iterator[FlatChunk]:
    """The rows of a flat CSV (UTF-8, with or without a byte order mark), :data:`CSV_ROWS` at a
    time, each with the line it ends on. A file without the required columns is a problem, not
    read; a line that is not UTF-8, or a row the CSV reader refuses (a field over its limit of
    131,072 characters), is a problem, and the rest is read."""
    batch: list[tuple[int, dict[str, str]]] = []
    with path.open("rb") as file:
        line = [0]  # the last line given to the reader
        rows = csv.DictReader(_decoded(file, path, read, line))
        if not _has_columns(path, rows.fieldnames or [], read):
            return
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as error:
                read.problems.append(Problem(str(path), line[0], f"row not read: {error}"))
                continue
            batch.append((line[0], row))
            if len(batch) >= CSV_ROWS:
                yield FlatChunk(str(path), tuple(batch))
                batch = []
    if batch:
        yield FlatChunk(str(path), tuple(batch))


def _decoded(file: Iterable[bytes], path: Path, read: Read, line: list[int]) -> Iterator[str]:
    """The lines of a file as text, each line's number put in ``line`` as it goes; a line that is
    not UTF-8 is a problem, left out."""
    for number, raw in enumerate(file, start=1):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            read.problems.append(
                Problem(str(path), number, f"not UTF-8 text ({error.reason}): line not read")
            )
            continue
        line[0] = number
        yield text


def _parquet_chunks(path: Path, read: Read) -> Iterator[FlatChunk]:
    """The rows of a flat Parquet file, :data:`CSV_ROWS` at a time, each value as the text a CSV
    would hold (a list of findings joined by spaces); a file that is not Parquet, or lacks the
    required columns, is a problem, not read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as error:
        read.problems.append(Problem(str(path), None, f"not a Parquet file: {error}"))
        return
    columns = [name for name in CSV_COLUMNS if name in file.schema_arrow.names]
    if not _has_columns(path, columns, read):
        return
    number = 0
    with file:
        batches = file.iter_batches(batch_size=CSV_ROWS, columns=columns)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except (OSError, pa.ArrowException) as error:  # a damaged row group
                message = f"not readable from here on: {error}"
                read.problems.append(Problem(str(path), number + 1, message))
                break
            rows = []
            for values in batch.to_pylist():
                number += 1
                rows.append((number, {name: _text(value) for name, value in values.items()}))
            yield FlatChunk(str(path), tuple(rows))


def _has_columns(path: Path, columns: Iterable[str], read: Read) -> bool:
    missing = {"order_id", "date", "ordered_procedure"} - set(columns)
    if missing:
        read.problems.append(Problem(str(path), 1, f"no column {', '.join(sorted(missing))}: file not read"))
    return not missing


def _text(value: object) -> str:
    """A Parquet value as a CSV would hold it."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(_text(item) for item in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_flat_rows(chunk: FlatChunk, book: CodeBook, read: Read) -> None:
    """The rows of a flat chunk as orders (see :data:`CSV_COLUMNS`)."""
    known = set(book.procedures.values())
    name = Path(chunk.file).name
    for line, row in chunk.rows:
        code = (row.get("ordered_procedure") or "").strip()
        procedure = code if code in known else book.procedures.get(code)
        if procedure is None:
            read.unmapped[f"ordered_procedure {code or '(none)'}"] += 1
        when = day(row.get("date"))
        order = Order(
            str(row.get("order_id") or f"{name}:{line}"),
            when.isoformat() if when else "",
            procedure,
            code,
            (row.get("service") or "").strip(),
            None,
        )
        body: dict[str, Any] = {
            "findings": [f for f in (row.get("findings") or "").replace(";", " ").split() if f]
        }
        problems = []
        for field_name in ("age", "egfr", "symptom_duration_weeks"):
            text = (row.get(field_name) or "").strip()
            if text:
                try:
                    body[field_name] = float(text)
                except ValueError:
                    problems.append(f"{field_name}: {text!r} is not a number")
        if (row.get("sex") or "").strip():
            body["sex"] = row["sex"].strip()
        if not problems:
            try:
                order.case = Case(**body)
            except ValidationError as error:
                problems += [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
        if problems:
            order.rejected = "; ".join(problems)
            read.problems.append(Problem(chunk.file, line, f"order {order.order_id}: {order.rejected}"))
        read.orders.append(order)
