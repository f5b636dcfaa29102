"""A simulated day: 1,000 visits going out and coming back at random, the sweep every 5 minutes.

Every visit still out when a tier's threshold passes is escalated at the first sweep after it,
exactly once per tier, and no visit that closed off in time is escalated at all.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from flask import Flask
from sqlalchemy import select

from home_visits import escalation, safety
from home_visits.extension import state
from home_visits.models import Alert, Visit

DAY = datetime(2026, 3, 4, 8, 0, tzinfo=timezone.utc)  # 08:00 in London (GMT)
SWEEP_EVERY = timedelta(minutes=5)
END = datetime(2026, 3, 4, 17, 0, tzinfo=timezone.utc)  # before the office closes at 17:30


def test_a_thousand_visits_each_escalated_once_per_tier_on_time(app: Flask) -> None:
    rng = random.Random(20260304)
    st = state(app)
    policy = st.policy
    grace = timedelta(minutes=policy.rules.grace_minutes)
    with st.sessions() as session:
        visits = []
        for n in range(1000):
            start = DAY + timedelta(minutes=rng.randrange(0, 6 * 60))
            expected = start + timedelta(minutes=rng.randrange(20, 121))
            visit = Visit(
                state="authorised", sequence=0, pupil=f"Pupil {n}", pupil_initials="P.", address=f"{n} Test Street",
                postcode="EX1 1AA", lead_id="sam", second_staff_id="jo", contact_id="pat", starts_at=start,
                expected_return=expected, created_at=DAY, updated_at=DAY,
            )
            visits.append(visit)
        session.add_all(visits)
        session.commit()
        plan = {}
        for visit in visits:
            roll = rng.random()
            if roll < 0.6:  # back in time, some of them in the last minute of the grace
                back = visit.expected_return + rng.choice([-timedelta(minutes=rng.randrange(0, 30)), grace - timedelta(seconds=1)])
            elif roll < 0.9:  # back late, somewhere in the first hour after overdue
                back = visit.expected_return + grace + timedelta(minutes=rng.randrange(0, 60), seconds=rng.randrange(60))
            else:  # not back by the end of the simulation
                back = None
            plan[visit.id] = (visit.starts_at, back)
    sent: list[tuple[int, str, datetime]] = []

    def mailer(to: Sequence[str], subject: str, text: str) -> None:
        visit_id = int(text.rsplit("/home-visits/", 1)[1].split()[0])
        step = text.splitlines()[1]  # "Escalation step 1 of 2."
        sent.append((visit_id, step, now))

    context = escalation.Context(policy=policy, directory=st.directory, mailer=mailer, link=lambda i: f"/home-visits/{i}")
    now = DAY
    sweeps: list[datetime] = []
    while now <= END:
        with st.sessions() as session:
            for visit in session.scalars(select(Visit).where(Visit.state.in_(["authorised", "checked_out"]))):
                start, back = plan[visit.id]
                if visit.state == "authorised" and start <= now:
                    visit.state, visit.checked_out_at = "checked_out", start
                if visit.state == "checked_out" and back is not None and back <= now:
                    visit.state, visit.returned_at = "returned", back
            session.commit()
            escalation.sweep(session, context, now)
        sweeps.append(now)
        now += SWEEP_EVERY

    with st.sessions() as session:
        alerts = {(a.visit_id, a.key): a for a in session.scalars(select(Alert))}
        expected_returns = {v.id: v.expected_return for v in session.scalars(select(Visit))}
    counts = Counter((visit_id, kind) for visit_id, kind, _ in sent)
    assert all(count == 1 for count in counts.values()), "an email went twice"
    escalated = 0
    for visit_id, (_start, back) in plan.items():
        overdue_from = expected_returns[visit_id] + grace
        for number, tier in enumerate(policy.escalation.tiers):
            threshold = overdue_from + timedelta(minutes=tier.after_minutes)
            first_sweep = next((s for s in sweeps if s >= threshold), None)
            still_out = first_sweep is not None and (back is None or back > first_sweep)
            alert = alerts.get((visit_id, f"tier-{number}"))
            if still_out:
                assert alert is not None and alert.status == "sent", (visit_id, number)
                assert alert.sent_at == first_sweep and alert.sent_at - threshold < SWEEP_EVERY
                escalated += 1
            else:
                assert alert is None, f"visit {visit_id} was escalated after closing off in time"
    assert len(sent) == escalated == len(alerts)
    assert 300 < escalated < 1500  # the random day did exercise the chain
    assert not [k for k in alerts if k[1] == safety.END_OF_DAY]
