"""Which visit a request may open: the one lookup every domain's views use for a visit in the URL."""

from __future__ import annotations

from flask import abort

from ..models import Visit
from ..people import Person
from ..web.context import get_or_abort, get_state
from . import workflow


def get_visit_or_abort(visit_id: int, me: Person) -> Visit:
    """The visit, if ``me`` may see it (they take part, or see all of its school's visits); 404 otherwise,
    so ids of other visits, and of other schools', reveal nothing."""
    visit: Visit = get_or_abort(Visit, visit_id)
    school = get_state().schools.get(visit.school_id)
    if school is None:  # a school no longer configured: ``flask home-visits schools`` names its visits
        abort(404)
    if not (visit.involves(me.id) or workflow.sees_everything(me.at(school.id), school.policy.rules.authorisers)):
        abort(404)
    return visit
