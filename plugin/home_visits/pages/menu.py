"""The menu and the pages' globals: what every page of the plugin is rendered with (the host's layout, the
menu's rights, words for states and actions, people by id, local times, and the records' open actions that
a plan's pages show beside it). The blueprint registers :func:`template_globals` as its context processor;
the error pages render with it too."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_login import current_user

from ..db import unit_of_work
from ..models import Visit
from ..people import Person
from ..plans import workflow
from ..plans.forms import HANDBOOK_PAGES
from ..plans.parts import PARTS
from ..records import service as recording
from ..safety.service import INCIDENT_KINDS
from ..web.context import current_person, get_session, get_state, handbook_url, schools_where


def _people_lookup() -> Any:
    """``person(id)`` for templates: each person looked up once per request."""
    if "home_visits_people" not in g:
        g.home_visits_people = {}
    cache, directory = g.home_visits_people, get_state().directory

    def person(person_id: str | None) -> Person | None:
        if not person_id:
            return None
        if person_id not in cache:
            cache[person_id] = directory.find(person_id)
        return cache[person_id]

    return person


def open_actions_of(lead_id: str) -> list[tuple[Any, Visit]]:
    """The open actions of the records of the visits ``lead_id`` led (My visits lists them)."""
    return recording.open_actions(get_session(), schools=get_state().schools.ids, lead_id=lead_id)


def family_actions(visit: Visit, *, including: bool = False) -> recording.FamilyActions:
    """The open actions of ``visit``'s family as the signed-in person may see them (a plan copied from an
    earlier visit shows them, ``including`` that visit's own); each record they come from logs the look."""
    st, session, me = get_state(), get_session(), current_person()
    if not visit.postcode:
        return recording.FamilyActions([], [])
    family = recording.family_actions(session, st.schools, visit, me, including=including)
    if family.readable:
        with unit_of_work(session):
            recording.log_actions_shown(session, family, me, st.clock())
    return family


def nav_rights() -> dict[str, bool]:
    """What the signed-in person's menu offers, from their roles at every school (not only at the school
    of the visit a page shows): ``approves`` somewhere (approvals, reports), ``oversees`` somewhere (the
    dashboard). Worked out once a request."""
    if "home_visits_nav" not in g:
        rights = {"approves": False, "oversees": False}
        if current_user.is_authenticated:
            person = get_state().directory.person(current_user._get_current_object())
            rights = {"approves": bool(schools_where(person, workflow.authorises)),
                      "oversees": bool(schools_where(person, workflow.sees_everything))}
        g.home_visits_nav = rights
    return g.home_visits_nav  # type: ignore[no-any-return]


def template_globals() -> dict[str, Any]:
    st = get_state()

    def policy_of_visit(visit: Visit) -> Any:
        school = st.schools.get(visit.school_id)
        return school.policy if school is not None else st.policy

    def school_tag(visit: Visit) -> str:
        school = st.schools.get(visit.school_id)
        return school.short if school is not None else visit.school_id

    return {
        "home_visits_base": current_app.config["HOME_VISITS_BASE_TEMPLATE"],
        "handbook_url": handbook_url(),
        "handbook_pages": HANDBOOK_PAGES,
        "plan_parts": PARTS,  # the plan's parts, declared once: every page that shows a plan shows these
        "state_labels": workflow.LABELS,
        "action_words": workflow.ACTION_WORDS,
        "incident_kinds": INCIDENT_KINDS,
        "policy": st.policy,
        # Lists name each visit's school when the portal has more than one, and read it with its own policy.
        "many_schools": len(st.schools) > 1,
        "school_tag": school_tag,
        "policy_of": policy_of_visit,
        "nav_rights": nav_rights,
        "open_actions_of": open_actions_of,
        "family_actions": family_actions,
        "person": _people_lookup(),
        "local": lambda moment: moment.astimezone(st.policy.zone) if moment else None,
    }
