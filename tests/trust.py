"""A small trust for the tests: two schools with their own policies, staff, approvers and offices, and
trust-wide people; imported by the tests that give the suite its school dimension.

``north`` closes its office at 16:00 and allows 10 minutes' grace; ``south`` closes at 18:00 and allows 30.
Both extend the trust's policy, which extends the default.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from home_visits.extension import state
from home_visits.models import Visit
from home_visits.plans import service as services

from .conftest import User, make_app, signed_in, valid_plan

__all__ = ["TRUST_USERS", "make_trust_app", "signed_in", "trust_config", "visit_factory"]

SCHOOLS = ("north", "south")

TRUST_USERS = {
    u.id: u
    for u in [
        User("nina", "Nina North", "nina@north.example", "07700 900101", ("north:staff",)),
        User("ned", "Ned North", "ned@north.example", "07700 900102", ("north:staff",)),
        User("noor", "Noor North", "noor@north.example", "07700 900103", ("north:approver",)),
        User("nell", "Nell North", "office@north.example", "01632 960101", ("north:office",)),
        User("sol", "Sol South", "sol@south.example", "07700 900201", ("south:staff",)),
        User("sid", "Sid South", "sid@south.example", "07700 900202", ("south:staff",)),
        User("sky", "Sky South", "sky@south.example", "07700 900203", ("south:approver",)),
        User("sue", "Sue South", "office@south.example", "01632 960201", ("south:office",)),
        # The trust's attendance officer plans at both schools; the safeguarding lead sees everything.
        User("tara", "Tara Trust", "tara@trust.example", "07700 900301", ("north:staff", "south:staff")),
        User("tom", "Tom Trust", "tom@trust.example", "07700 900302", ("trust:approver", "trust:office", "trust:dsl")),
    ]
}

#: Who plans, who authorises and who answers the phone at each school, for factories and matrices.
STAFF = {"north": ("nina", "ned"), "south": ("sol", "sid")}
APPROVER = {"north": "noor", "south": "sky"}
OFFICE = {"north": "nell", "south": "sue"}

TRUST_POLICY = "extends: default\nschool:\n  name: Oak Trust\n"
SCHOOL_POLICIES = {
    "north": 'extends: trust\nrules:\n  grace_minutes: 10\nescalation:\n  office_closes: "16:00"\n',
    "south": 'extends: trust\nrules:\n  grace_minutes: 30\nescalation:\n  office_closes: "18:00"\n',
}


def trust_config(folder: Path) -> dict[str, Any]:
    """``HOME_VISITS_POLICY`` and ``HOME_VISITS_SCHOOLS`` for the two schools, their files written in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "trust.yaml").write_text(TRUST_POLICY)
    for school, text in SCHOOL_POLICIES.items():
        (folder / f"{school}.yaml").write_text(text)
    return {
        "HOME_VISITS_POLICY": str(folder / "trust.yaml"),
        "HOME_VISITS_SCHOOLS": [
            {"id": "north", "name": "North Primary", "short": "North", "policy": str(folder / "north.yaml"),
             "office_email": "office@north.example", "out_of_hours_email": "on-call@north.example"},
            {"id": "south", "name": "South Academy", "short": "South", "policy": str(folder / "south.yaml"),
             "office_email": "office@south.example", "out_of_hours_email": "on-call@south.example"},
        ],
    }


def make_trust_app(instance: Path, **config: Any) -> Flask:
    """A host portal for the trust: Flask-Login users with per-school roles, the plugin embedded."""
    return make_app(instance, users=TRUST_USERS, **{**trust_config(instance.parent / "policies"), **config})


def visit_factory(app: Flask) -> Callable[..., Visit]:
    """``create(school, state_="authorised", lead=None, **plan_changes)``: a visit at ``school`` taken through
    the real workflow with that school's policy; the lead, second staff, contact and approver are the school's."""

    def create(school: str, *, state_: str = "authorised", lead: str | None = None, **changes: Any) -> Visit:
        st = state(app)
        lead = lead or STAFF[school][0]
        second = next(p for p in STAFF[school] if p != lead) if lead in STAFF[school] else STAFF[school][0]
        people = {"lead_id": lead, "second_staff_id": second, "contact_id": OFFICE[school]} | changes
        actor = st.directory.person(TRUST_USERS[lead])
        policy = st.policy_for(school)
        with st.sessions() as session:
            visit = services.create_visit(session, valid_plan(**people), actor=actor, now=st.clock(), school=school)
            session.flush()
            if state_ != "draft":
                assert not services.submit(session, visit, actor=actor, policy=policy, now=st.clock())
            if state_ in ("authorised", "checked_out"):
                approver = st.directory.person(TRUST_USERS[APPROVER[school]])
                services.decide(session, visit, "authorise", actor=approver, policy=policy, now=st.clock())
            session.commit()
            return visit

    return create
