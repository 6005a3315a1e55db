"""Build hook: ship the widgets' front end (``widgets/``) inside the package.

Everything else about the build is in ``pyproject.toml``. The ES modules and stylesheets live
in ``widgets/<name>/`` at the top of the repository (one folder per widget, readable without a
bundler); a wheel carries them as ``fmviz/_widgets/<name>/``, where
``fmviz.views._widget`` looks first. Editable installs read ``widgets/`` directly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
ASSET_SUFFIXES = (".js", ".css")


class BuildPyWithWidgets(build_py):
    """``build_py`` that also copies ``widgets/**/*.js|css`` to ``fmviz/_widgets/``."""

    def run(self) -> None:
        super().run()
        source = ROOT / "widgets"
        target = Path(self.build_lib) / "fmviz" / "_widgets"
        for path in sorted(source.rglob("*")):
            if path.suffix in ASSET_SUFFIXES and path.is_file():
                destination = target / path.relative_to(source)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination)


setup(cmdclass={"build_py": BuildPyWithWidgets})
