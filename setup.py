"""Ship the top-level files the tool reads at run time inside the wheel (as tasks/_shipped/...).

The project's top level is fixed (templates/, runbooks/, prefect.yaml beside the packages); a wheel carries only
packages, so the build copies them in. tasks/shipped.py finds them in either place.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("templates", "runbooks", "prefect.yaml", "docs/demo-answers-region-loss.yaml")


class BuildWithShippedFiles(build_py):
    def run(self) -> None:
        super().run()
        root = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "tasks" / "_shipped"
        for name in SHIPPED:
            source, dest = root / name, target / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, dest, dirs_exist_ok=True)
            else:
                shutil.copy2(source, dest)


setup(cmdclass={"build_py": BuildWithShippedFiles})
