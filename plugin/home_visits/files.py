"""Files the plugin writes, created with the owner-only permissions ``HOME_VISITS_FILE_MODE`` and
``HOME_VISITS_DIRECTORY_MODE`` name (0600 / 0700 by default), whatever the process's umask.

No Flask here: callers pass the modes from the config.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: The defaults, as ``config.py`` documents them.
FILE_MODE, DIRECTORY_MODE = 0o600, 0o700


def make_folder(path: Path, *, mode: int = DIRECTORY_MODE) -> Path:
    """Create ``path`` (and missing parents) with ``mode``; a folder that exists is left as it is."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    path.mkdir(parents=True, exist_ok=True)
    for folder in missing:
        os.chmod(folder, mode)
    return path


def touch(path: Path, *, mode: int = FILE_MODE) -> Path:
    """Create an empty ``path`` with ``mode`` unless it exists (then it is left as it is)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return path
    os.close(descriptor)
    os.chmod(path, mode)  # the umask may have taken bits off
    return path


def write(path: Path, data: bytes | str, *, mode: int = FILE_MODE) -> Path:
    """Write ``data`` to ``path`` atomically (a temporary file beside it, then a rename), with ``mode``."""
    body = data.encode("utf-8") if isinstance(data, str) else data
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", delete=False) as temp:
        temp.write(body)
        temp.flush()
        os.fsync(temp.fileno())
    os.chmod(temp.name, mode)
    os.replace(temp.name, path)
    return path
