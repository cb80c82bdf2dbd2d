"""``kg fmt``: format the ontology's Turtle files in place (``--check``, ``--diff``: write nothing), so that
an edit to the ontology makes a small diff.

The formatting, and its rules, are ``kg.turtle`` (``format_turtle``); this module finds the files, writes
them atomically, and reports.
"""

from __future__ import annotations

import argparse
import difflib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kg.config import Settings
from kg.turtle.errors import FormatError
from kg.turtle.formatter import format_turtle


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``kg fmt``."""
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILES",
        help="Turtle files, or folders to search for *.ttl (default: the ontology folder, recursively)",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; list the files that would change; exit 1 if any"
    )
    parser.add_argument(
        "--diff", action="store_true", help="write nothing; print a unified diff of the changes"
    )


def _targets(files: list[Path], ontology_dir: Path) -> Iterator[Path]:
    """The files named, and the ``*.ttl`` files under the folders named (or the ontology folder)."""
    seen: set[Path] = set()
    for given in files or [ontology_dir]:
        if given.is_dir():
            found = sorted(p for p in given.rglob("*.ttl") if p.is_file() and not _hidden(p, given))
        else:
            found = [given]
        for path in found:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                yield path


def _hidden(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` (UTF-8) through a temporary file in its folder, keeping its mode."""
    target = path.resolve()
    mode = stat.S_IMODE(target.stat().st_mode)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _diff(name: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Format the files; 0 if all are (now) formatted, 1 if ``--check`` found one to change, 2 if one
    could not be read, parsed or written (it is left untouched; the others are still done)."""
    if not args.files and not settings.ontology_dir.is_dir():
        print(f"kg fmt: the ontology folder {settings.ontology_dir} does not exist", file=sys.stderr)
        return 2
    write = not (args.check or args.diff)
    changed = failed = unchanged = 0
    for path in _targets(args.files, settings.ontology_dir):
        name = _shown(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else f"not UTF-8 ({error.reason})"
            print(f"kg fmt: {name}: cannot read: {reason}", file=sys.stderr)
            failed += 1
            continue
        try:
            formatted = format_turtle(text)
        except FormatError as error:
            where = f"{name}:{error.line}" if error.line else name
            print(f"kg fmt: {where}: {error.message}; left untouched", file=sys.stderr)
            failed += 1
            continue
        if formatted == text:
            unchanged += 1
            continue
        changed += 1
        if args.diff:
            sys.stdout.write(_diff(name, text, formatted))
        if not write:
            print(f"would reformat {name}", file=sys.stderr)
            continue
        try:
            write_atomically(path, formatted)
        except OSError as error:
            print(f"kg fmt: {name}: cannot write: {error.strerror}", file=sys.stderr)
            failed += 1
            changed -= 1
            continue
        print(f"reformatted {name}", file=sys.stderr)
    verb = "reformatted" if write else "would be reformatted"
    print(f"kg fmt: {changed} {verb}, {unchanged} unchanged, {failed} failed", file=sys.stderr)
    if failed:
        return 2
    return 1 if args.check and changed else 0
