"""Build the staff handbook (MkDocs) once, so the portal can serve it from its navigation."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: The repository's MkDocs configuration (the demo runs from a checkout).
MKDOCS_YML = Path(__file__).resolve().parents[2] / "mkdocs.yml"


def ensure_handbook(site: Path, *, rebuild: bool = False) -> bool:
    """Build the handbook into ``site`` unless it is already there. Returns whether it is there."""
    if (site / "index.html").exists() and not rebuild:
        return True
    if not MKDOCS_YML.exists():
        log.warning("No mkdocs.yml at %s: the handbook is not built.", MKDOCS_YML)
        return False
    log.info("Building the handbook into %s", site)
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "--strict", "-f", str(MKDOCS_YML), "-d", str(site)],
        check=True,
    )
    return True
