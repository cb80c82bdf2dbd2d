"""An on-disk cache of what loading derives from the ontology, keyed by content hash."""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
V = TypeVar("V")
log = logging.getLogger(__name__)


def load_or_build(directory: Path | None, key: str, build: Callable[[], T]) -> T:
    """The value cached under ``key`` in ``directory``, or ``build()``'s, stored there for next time.

    Without a directory nothing is cached. A missing, unreadable or stale entry is rebuilt; a
    directory that cannot be written only costs the next start the build.
    """
    if directory is None:
        return build()
    path = directory / f"{key}.pickle"
    try:
        with path.open("rb") as file:
            return pickle.load(file)
    except FileNotFoundError:
        pass
    except Exception as error:  # a truncated or foreign file: rebuild it
        log.warning("ignoring unreadable cache entry %s: %s", path, error)
    value = build()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, suffix=".tmp", delete=False) as file:
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(file.name, path)
    except OSError as error:
        log.warning("cannot write the cache entry %s: %s", path, error)
    return value


class Memo(Generic[V]):
    """A bounded mapping that forgets the least recently used entry (a cache of pure results)."""

    def __init__(self, maxsize: int) -> None:
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._maxsize = maxsize
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value for ``key``, now the most recently used, or None."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def __setitem__(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            if len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
