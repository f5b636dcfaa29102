"""Build the staff handbook once, where the plugin serves it (``<prefix>/handbook/``), as
``flask home-visits handbook build`` does."""

from __future__ import annotations

import logging
from pathlib import Path

from home_visits.handbook_site import HandbookError, build, is_built

log = logging.getLogger(__name__)


def ensure_handbook(site: Path, *, policy: str | None = None, rebuild: bool = False) -> bool:
    """Build the handbook into ``site`` unless it is already there. Returns whether it is there."""
    if is_built(site) and not rebuild:
        return True
    log.info("Building the handbook into %s", site)
    try:
        build(site, policy=policy)
    except HandbookError as error:
        log.warning("%s", error)
        return False
    return True
