"""The record-content marker test's school dimension: a south visit's record, every field marked (as
``test_record_content`` marks them), is looked for on every page as everyone of north, including a north
visit to the same family: none of it appears, and south's own pages are 404 to them. South's readers and
the trust's approver read it where the record rule allows."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from home_visits.extension import state
from home_visits.plans import service as services
from home_visits.records import Action, RecordData
from home_visits.records import service as recording

from ..conftest import valid_plan
from ..trust import TRUST_USERS, make_trust_app, signed_in
from .test_record_content import ACTIONS, ADDRESS, INCIDENT_WORDS, MARKERS, PAGES, RECORD_FIELDS, START

#: Everyone of north (tara: staff at both schools, on none of south's visits).
NORTH = ("nina", "ned", "noor", "nell", "tara")
#: Pages about the south visit itself: 404 to everyone of north (or what a missing id gets: the plan form
#: is 403 to whoever does not plan, whatever visit it is asked to copy).
SOUTH_PAGES = ("visit", "record", "cpoms", "cpoms_text", "like", "card")


def _plant(app: Flask) -> tuple[int, int]:
    """South's recorded visit (sol leads, sid second, sue the contact) with every marker planted, and a
    later north visit (nina's draft) to the same address."""
    st = state(app)
    person = lambda user_id, school: st.directory.person(TRUST_USERS[user_id]).at(school)  # noqa: E731
    policy = st.policy_for("south")
    st.clock.now = START - timedelta(days=2)  # type: ignore[attr-defined]
    sol = person("sol", "south")
    m = MARKERS
    with st.sessions() as session:
        visit = services.create_visit(
            session, valid_plan(address=ADDRESS, lead_id="sol", second_staff_id="sid", contact_id="sue",
                                starts_at=START, expected_return=START + timedelta(hours=1)),
            actor=sol, now=st.clock(), school="south")
        session.flush()
        assert not services.submit(session, visit, actor=sol, policy=policy, now=st.clock())
        services.decide(session, visit, "authorise", actor=person("sky", "south"), policy=policy, now=st.clock())
        services.decide(session, visit, "check_out", actor=sol, policy=policy, now=START)
        services.decide(session, visit, "check_in", actor=sol, policy=policy, now=START + timedelta(hours=1))
        now = START + timedelta(hours=2)
        data = RecordData(
            outcome="took_place", setting="inside", started_at=START + timedelta(minutes=5),
            ended_at=START + timedelta(minutes=50),
            present=[{"name": m["present_name"], "relationship": m["present_relationship"], "agreed": True}],
            points=m["points"], child_voice=m["child_voice"], parents_views=m["parents_views"],
            agreements=m["agreements"], concerns=m["concerns"],
            observations=[{"kind": "fact", "text": m["observation"]}], safeguarding="raised",
            safeguarding_where=m["safeguarding_where"], incident_kinds=["threats"],
            incident_details=m["incident_details"], reflection=m["reflection"],
            actions=[Action(m["action_what"], m["action_owner"], date(2026, 3, 20)),
                     Action(m["done_action_what"], "Parent", date(2026, 3, 21))],
        )
        record = recording.save(session, visit, data, actor=sol, now=now, version=None)
        session.flush()
        assert not recording.submit(session, visit, record, actor=sol, policy=policy, now=now)
        recording.correct(session, visit, record, actor=sol, policy=policy, now=now, field="points",
                          text=m["correction_text"], reason=m["correction_reason"])
        recording.confirm(session, visit, record, actor=person("sid", "south"), now=now, comment=m["confirmation"])
        done = next(a for a in record.actions if a.what == m["done_action_what"])
        recording.mark_done(session, done, visit, actor=sol, now=now)
        later = services.create_visit(session, valid_plan(lead_id="nina", address=ADDRESS, second_staff_id="ned",
                                                          contact_id="nell"),
                                      actor=person("nina", "north"), now=now, school="north")
        session.commit()
        return visit.id, later.id


@pytest.fixture
def planted(tmp_path: Path) -> Any:
    app = make_trust_app(tmp_path / "instance")
    ids = _plant(app)
    yield app, ids
    state(app).engine.dispose()


def test_no_field_of_a_south_record_reaches_anyone_of_north(planted: Any) -> None:
    app, (visit_id, later_id) = planted
    leaks, cells = [], 0
    for page, path in PAGES.items():
        for who in NORTH:
            cells += 1
            response = signed_in(app, who).get(path(visit_id, later_id))
            body = response.get_data(as_text=True)
            if page in SOUTH_PAGES and response.status_code != 404:
                # Only what a missing id gets, for a reason about the person (the office does not plan)
                absent = signed_in(app, who).get(path(987654, later_id)).status_code
                if response.status_code != absent or absent not in (403, 404):
                    leaks.append(f"{page} as {who}: {response.status_code} (a missing id: {absent})")
            if response.status_code >= 500:
                leaks.append(f"{page} as {who}: {response.status_code}")
            leaks += [f"{page} as {who}: {name}" for name, marker in MARKERS.items() if marker in body]
            if any(word in body for word in INCIDENT_WORDS):
                leaks.append(f"{page} as {who}: incident kind")
    assert not leaks, "south's record seen at north:\n" + "\n".join(leaks)
    print(f"\nrecord content, school dimension: {cells} page x person cells, 0 leaks")


def test_south_readers_and_the_trust_read_it_where_the_rule_allows(planted: Any) -> None:
    app, (visit_id, later_id) = planted
    for who in ("sky", "tom", "sid"):
        body = signed_in(app, who).get(PAGES["record"](visit_id, later_id)).get_data(as_text=True)
        assert all(MARKERS[name] in body for name in RECORD_FIELDS), who
        assert MARKERS["reflection"] not in body, who
    sue = signed_in(app, "sue").get(PAGES["visit"](visit_id, later_id))
    assert sue.status_code == 200 and not any(m in sue.get_data(as_text=True) for m in MARKERS.values())
    later = signed_in(app, "tom").get(PAGES["later_visit"](visit_id, later_id)).get_data(as_text=True)
    assert all(MARKERS[name] in later for name in ACTIONS)  # the trust reads the family's actions at south
    nina = signed_in(app, "nina").get(PAGES["later_visit"](visit_id, later_id)).get_data(as_text=True)
    assert "Sol South" not in nina  # not even whom to ask: another school's visits to the family stay unseen
