"""Load: the demo portal under waitress (several threads) on loopback, 20 concurrent clients logged in
through the real login form with CSRF on: 200 plan submissions and 200 authorisations, then 20 plans
that two senior leaders try to authorise at the same moment.

Every plan is stored exactly once, every transition is audited exactly once, no answer is a 5xx,
and a race gets one "authorised" and one clear refusal. Opt-in (``pytest -m load``); ``.ci/run`` runs it
on SQLite and on PostgreSQL. Bounded: a fixed number of requests, a timeout on each, loopback only.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from home_visits.extension import state
from home_visits.models import AuditEntry, Visit
from home_visits.policy import cached_policy

from ..conftest import TEST_DATABASE_URI, Inbox
from .portal import Client, Reply, demo_app, serve

pytestmark = pytest.mark.load

CLIENTS = 20
PLANNERS = 10  # five as sam, five as jo
APPROVERS = CLIENTS - PLANNERS  # all as alex, the headteacher
PLANS = 200
RACES = 20
#: The whole run must finish within this (it takes a fraction of it); each request within REQUEST_TIMEOUT.
DEADLINE = 300
REQUEST_TIMEOUT = 60
WAITRESS_THREADS = 8
MARK = "Load"  # every pupil is "Load <n>": how a plan is found again


@dataclass
class Tally:
    """What the clients saw, shared between threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    took: list[float] = field(default_factory=list)

    def note(self, what: str, status: int, seconds: float, body: str = "") -> None:
        with self.lock:
            self.statuses[(what, status)] += 1
            self.took.append(seconds)
            if status >= 500:
                self.errors.append(f"{what}: {status} {body[:300]}")


def timed(tally: Tally, what: str, call: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    reply = call()
    tally.note(what, reply.status, time.perf_counter() - start, reply.body)
    return reply


def visit_day() -> date:
    """A weekday at least two days ahead: far enough for any notice rule, in the feed's window."""
    day = date.today() + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def plan_form(n: int, lead: str, token: str) -> dict[str, Any]:
    policy = cached_policy(None)
    day = visit_day()
    start = datetime(day.year, day.month, day.day, 9) + timedelta(minutes=(n % 12) * 15)
    return {
        "csrf_token": token, "pupil": f"{MARK} {n:04d}", "address": f"{n} Larch Close, Exampleton",
        "postcode": "EX1 2AB", "reason": policy.reasons[0].id, "purpose": "Agree an attendance plan.",
        "date": day.isoformat(), "start_time": start.strftime("%H:%M"),
        "return_time": (start + timedelta(hours=1)).strftime("%H:%M"),
        "second_staff_id": "jo" if lead == "sam" else "sam", "contact_id": "office",
        "contact_phone": "01632 960000", "family_agreed": "yes", "appointment": "phone", "travel": "car",
        "checklist": [item.id for item in policy.guidance.before.items if item.required],
        "alternatives": [policy.alternatives[0].id],
        "submit": "Continue",
    }


def planner(url: str, lead: str, numbers: list[int], done: queue.Queue[int], tally: Tally) -> None:
    client = Client(url, timeout=REQUEST_TIMEOUT)
    try:
        client.login(lead)
        for n in numbers:
            form = timed(tally, "GET plan form", lambda: client.get("/home-visits/new"))
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.body)
            if form.status != 200 or not token:
                tally.errors.append(f"plan {n}: the form answered {form.status}")
                continue
            form_data = plan_form(n, lead, token[1])
            saved = timed(tally, "POST plan", lambda d=form_data: client.post("/home-visits/new", d))
            reply = submit_checked(client, saved, tally) if saved.status == 302 else saved
            if reply.status == 302 and re.fullmatch(r"/home-visits/\d+", reply.location):
                done.put(int(reply.location.rsplit("/", 1)[1]))
            else:
                tally.errors.append(f"plan {n} by {lead}: {reply.status} {reply.location or reply.body[:300]}")
    except Exception as error:  # a thread must report, not vanish
        tally.errors.append(f"planner {lead}: {error!r}")
    finally:
        client.close()


def submit_checked(client: Client, saved: Reply, tally: Tally) -> Reply:
    """"Check your answers", as the lead reads it after "Continue", then "Submit for authorisation"."""
    if not re.fullmatch(r"/home-visits/\d+/check", saved.location):
        return saved
    page = timed(tally, "GET check your answers", lambda: client.get(saved.location))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.body)
    form = {"csrf_token": token[1] if token else "", "version": seen_version(page.body),
            "submit": "Submit for authorisation"}
    return timed(tally, "POST submit", lambda: client.post(saved.location, form))


def seen_version(page: str) -> str:
    """The plan version the visit page shows, which a decision must carry."""
    found = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    return found[1] if found else ""


def authorise(client: Client, visit_id: int, tally: Tally, what: str = "POST authorise") -> int:
    page = timed(tally, "GET visit", lambda: client.get(f"/home-visits/{visit_id}"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.body)
    if page.status != 200 or not token:
        tally.errors.append(f"visit {visit_id}: the page answered {page.status}")
        return page.status
    form = {"csrf_token": token[1], "version": seen_version(page.body), "comment": "", "authorise": "Authorise"}
    reply = timed(tally, what, lambda: client.post(f"/home-visits/{visit_id}/decide", form))
    return int(reply.status)


def approver(url: str, todo: queue.Queue[int | None], tally: Tally, answers: dict[int, int]) -> None:
    client = Client(url, timeout=REQUEST_TIMEOUT)
    try:
        client.login("alex")
        while (visit_id := todo.get(timeout=DEADLINE)) is not None:
            answers[visit_id] = authorise(client, visit_id, tally)
    except Exception as error:
        tally.errors.append(f"approver: {error!r}")
    finally:
        client.close()


def racer(url: str, ids: list[int], barrier: threading.Barrier, tally: Tally, answers: list[tuple[int, int]]) -> None:
    """Open each visit, wait for the other leader, press Authorise at the same moment."""
    client = Client(url, timeout=REQUEST_TIMEOUT)
    try:
        client.login("alex")
        for visit_id in ids:
            page = timed(tally, "GET visit", lambda v=visit_id: client.get(f"/home-visits/{v}"))
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.body)
            assert token, f"no form on visit {visit_id}"
            barrier.wait(timeout=REQUEST_TIMEOUT)
            form = {"csrf_token": token[1], "version": seen_version(page.body), "comment": "",
                    "authorise": "Authorise"}
            reply = timed(tally, "POST authorise (race)",
                          lambda v=visit_id, f=form: client.post(f"/home-visits/{v}/decide", f))
            answers.append((visit_id, reply.status))
            if reply.status not in (302, 409):
                tally.errors.append(f"race on {visit_id}: {reply.status} {reply.body[:300]}")
            elif reply.status == 409 and not re.search(r"authorised|changed this visit|changed since you opened it",
                                                       reply.body):
                tally.errors.append(f"race on {visit_id}: a 409 that does not say why: {reply.body[:300]}")
    except Exception as error:
        tally.errors.append(f"racer: {error!r}")
    finally:
        client.close()


def test_200_plans_and_200_authorisations_from_20_clients(tmp_path: Path, smtp_server: Inbox) -> None:
    app = demo_app(tmp_path / "instance", HOME_VISITS_SMTP_HOST="127.0.0.1", HOME_VISITS_SMTP_PORT=smtp_server.port,
                   HOME_VISITS_SMTP_TIMEOUT=10)
    database = "PostgreSQL" if TEST_DATABASE_URI else "SQLite"
    tally = Tally()
    started = time.perf_counter()
    with serve(app, threads=WAITRESS_THREADS) as portal:
        # 200 plans from 10 clients while 10 clients authorise each one as it arrives.
        submitted: queue.Queue[int] = queue.Queue()
        todo: queue.Queue[int | None] = queue.Queue()
        answers: dict[int, int] = {}
        numbers = list(range(PLANS))
        planners = [threading.Thread(target=planner, args=(portal.url, "sam" if i % 2 else "jo",
                                                           numbers[i::PLANNERS], submitted, tally))
                    for i in range(PLANNERS)]
        approvers = [threading.Thread(target=approver, args=(portal.url, todo, tally, answers))
                     for _ in range(APPROVERS)]
        for thread in planners + approvers:
            thread.start()
        handed = 0
        while handed < PLANS and (any(t.is_alive() for t in planners) or not submitted.empty()):
            try:
                todo.put(submitted.get(timeout=1))
                handed += 1
            except queue.Empty:
                pass
            assert time.perf_counter() - started < DEADLINE, f"not done in {DEADLINE} s: {handed} plans in"
        for _ in approvers:
            todo.put(None)
        for thread in planners + approvers:
            thread.join(timeout=DEADLINE)
            assert not thread.is_alive(), "a client did not finish"
        first_phase = time.perf_counter() - started

        # 20 more plans, each authorised by two leaders at once: one wins, the other is told why.
        race_ids: list[int] = []
        setup = Client(portal.url, timeout=REQUEST_TIMEOUT)
        setup.login("sam")
        for n in range(PLANS, PLANS + RACES):
            token = setup.csrf_token("/home-visits/new")
            data = plan_form(n, "sam", token)
            saved = timed(tally, "POST plan", lambda d=data: setup.post("/home-visits/new", d))
            reply = submit_checked(setup, saved, tally)
            assert reply.status == 302, reply.body[:300]
            race_ids.append(int(reply.location.rsplit("/", 1)[1]))
        setup.close()
        barrier = threading.Barrier(2)
        race_answers: list[tuple[int, int]] = []
        racers = [threading.Thread(target=racer, args=(portal.url, race_ids, barrier, tally, race_answers))
                  for _ in range(2)]
        for thread in racers:
            thread.start()
        for thread in racers:
            thread.join(timeout=DEADLINE)
            assert not thread.is_alive(), "a racing client did not finish"
    elapsed = time.perf_counter() - started

    took = sorted(tally.took)
    print(f"\n{database}: {sum(tally.statuses.values())} requests in {elapsed:.1f} s "
          f"(plans and authorisations: {first_phase:.1f} s); median {took[len(took) // 2] * 1000:.0f} ms, "
          f"95th percentile {took[int(len(took) * 0.95)] * 1000:.0f} ms, slowest {took[-1] * 1000:.0f} ms")
    print("  " + ", ".join(f"{what} {status}: {count}" for (what, status), count in sorted(tally.statuses.items())))
    assert not portal.errors, f"the app raised while serving ({len(portal.errors)}): {portal.errors[:5]}"
    assert not tally.errors, f"{len(tally.errors)} problems on {database}:\n" + "\n".join(tally.errors[:20])
    server_errors = {key: count for key, count in tally.statuses.items() if key[1] >= 500}
    assert not server_errors, server_errors
    assert sorted(answers.values()) == [302] * PLANS, Counter(answers.values())

    with state(app).sessions() as session:
        pupils = Counter(session.scalars(select(Visit.pupil).where(Visit.pupil.like(f"{MARK} %"))))
        assert len(pupils) == PLANS + RACES and set(pupils.values()) == {1}, "a plan stored twice or lost"
        visits = {v.id: v for v in session.scalars(select(Visit).where(Visit.pupil.like(f"{MARK} %")))}
        assert {v.state for v in visits.values()} == {"authorised"}
        assert set(answers) | set(race_ids) == set(visits)
        trail = Counter(
            (row.visit_id, row.action)
            for row in session.execute(
                select(AuditEntry.visit_id, AuditEntry.action).where(AuditEntry.visit_id.in_(visits))
            )
        )
        for visit_id in visits:
            for action in ("created", "submit", "authorise"):  # the audit names each step by its action
                assert trail[(visit_id, action)] == 1, f"visit {visit_id}: {trail[(visit_id, action)]} '{action}'"
        per_visit = session.execute(
            select(AuditEntry.visit_id, func.count()).where(AuditEntry.to_state == "authorised")
            .group_by(AuditEntry.visit_id)
        ).all()
        assert all(count == 1 for _, count in per_visit)
    wins = Counter(visit_id for visit_id, status in race_answers if status == 302)
    assert sorted(wins.values()) == [1] * RACES and len(wins) == RACES, f"races: {race_answers}"
    assert elapsed < DEADLINE
