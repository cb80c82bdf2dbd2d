"""Build hook: a wheel carries the knowledge it serves by default.

``ontology/``, ``queries/`` and the public vignettes live at the repository's root, where
informaticists edit them; a built wheel copies them into ``kg/pack/``, which ``kg.config`` prefers
when it exists (an installed kg), so that ``pip install kg-*.whl`` serves, answers and validates
without a checkout. Everything else about the package is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: Where each part of the pack comes from, by its place in kg/pack/.
PACK = {
    "ontology": ROOT / "ontology",
    "queries": ROOT / "queries",
    "scenarios/public.toml": ROOT / "tests" / "scenarios" / "public.toml",
}


class BuildWithPack(build_py):
    """``build_py``, then the knowledge pack into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's folders
            return
        pack = Path(self.build_lib) / "kg" / "pack"
        shutil.rmtree(pack, ignore_errors=True)
        for name, source in PACK.items():
            target = pack / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, target)


setup(cmdclass={"build_py": BuildWithPack})
