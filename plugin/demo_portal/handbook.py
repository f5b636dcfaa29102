"""Build each school's staff handbook once, where the plugin serves it (``<prefix>/handbook/``), as
``flask home-visits handbook build`` does."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from home_visits.handbook_site import HandbookError, build, is_built, school_site, site_dir, sources_by_school

log = logging.getLogger(__name__)


def ensure_handbooks(config: Mapping[str, Any], instance_path: str, *, rebuild: bool = False) -> bool:
    """Build every school's handbook that is not built yet (each from its own policy). Returns whether all are there."""
    site = site_dir(config["HOME_VISITS_HANDBOOK_DIR"], instance_path)
    trust = config.get("HOME_VISITS_SCHOOLS") is not None
    there = True
    for school, source in sources_by_school(config).items():
        folder = school_site(site, school, trust=trust)
        if is_built(folder) and not rebuild:
            continue
        log.info("Building the handbook of %s into %s", source.name or "the school", folder)
        try:
            build(folder, source=source)
        except HandbookError as error:
            log.warning("%s", error)
            there = False
    return there
