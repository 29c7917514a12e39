"""Files the tool ships beside its code: report templates, the demo catalog, prefect.yaml.

From a checkout (or an editable install) they are the repository's top-level files; from a built wheel they
are copies inside the package (tasks/_shipped/, made by setup.py), found with importlib.resources.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1]


def shipped(name: str) -> Path:
    """The shipped file or directory `name` (e.g. "templates", "prefect.yaml")."""
    packaged = resources.files("tasks").joinpath("_shipped", *name.split("/"))
    if packaged.is_file() or packaged.is_dir():
        return Path(str(packaged))
    return SOURCE_ROOT / name
