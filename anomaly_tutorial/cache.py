"""Where the package keeps artifacts that it can always rebuild (trained models, datasets).

Chapters share expensive artifacts through functions that look here first and rebuild the
artifact deterministically when it is missing, so every chapter still runs alone.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "ANOMALY_TUTORIAL_CACHE"


def cache_dir() -> Path:
    """Return the cache folder, creating it if needed.

    The folder is ``$ANOMALY_TUTORIAL_CACHE`` when that variable is set, else ``.cache``
    in the repository root when the package is used from a checkout, else
    ``~/.cache/anomaly_tutorial``.

    Returns
    -------
    pathlib.Path
        An existing, writable folder.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env)
    else:
        repo_root = Path(__file__).resolve().parent.parent
        if (repo_root / "pyproject.toml").exists() and (repo_root / "_toc.yml").exists():
            path = repo_root / ".cache"
        else:
            path = Path.home() / ".cache" / "anomaly_tutorial"
    path.mkdir(parents=True, exist_ok=True)
    return path
