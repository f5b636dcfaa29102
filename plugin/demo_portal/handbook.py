"""Build each school's staff handbook once, where the plugin serves it (``<prefix>/handbook/``), as
``flask home-visits handbook build`` does."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from home_visits.handbook.site import HandbookError, Source, build, is_built, school_site, site_dir
from home_visits.schools import load_schools

log = logging.getLogger(__name__)


def ensure_handbooks(config: Mapping[str, Any], instance_path: str, *, rebuild: bool = False) -> bool:
    """Build every school's handbook that is not built yet (each from its own policy). Returns whether all are there."""
    site = site_dir(config["HOME_VISITS_HANDBOOK_DIR"], instance_path)
    schools = load_schools(config.get("HOME_VISITS_SCHOOLS"), policy=config.get("HOME_VISITS_POLICY"))
    there = True
    for school in schools:
        folder, source = school_site(site, school.id, trust=schools.trust), Source.of(school, trust=schools.trust)
        if is_built(folder) and not rebuild:
            continue
        log.info("Building the handbook of %s into %s", source.name or "the school", folder)
        try:
            build(folder, source=source)
        except HandbookError as error:
            log.warning("%s", error)
            there = False
    return there
