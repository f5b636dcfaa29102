"""Packaging is declared in setup.cfg. This file only adds one step to the build: the handbook's MkDocs
sources (``mkdocs.yml`` and ``handbook/``) are copied into the wheel as ``home_visits/handbook_src/``, so
``flask home-visits handbook build`` works from an installed wheel. An editable install reads them from
the checkout instead."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithHandbook(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "home_visits" / "handbook_src"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "mkdocs.yml", target / "mkdocs.yml")
        shutil.copytree(ROOT / "handbook", target / "handbook", dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithHandbook})
