""""My visits" pages read in one order however the list is paged: plans with no date yet, then what is
coming up (soonest first), then earlier visits (newest first); no visit twice, none missed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from home_visits.extension import state
from home_visits.plans import service as services

from ..conftest import NOW


def test_every_page_continues_where_the_last_ended_across_the_three_parts(app: Flask, create_visit: Any) -> None:
    drafts = [create_visit(starts_at=None, expected_return=None).id for _ in range(2)]
    coming = [create_visit(starts_at=NOW + timedelta(days=d), expected_return=NOW + timedelta(days=d, hours=1)).id
              for d in (9, 2, 5, 3)]
    past = [create_visit(starts_at=NOW - timedelta(days=d), expected_return=NOW - timedelta(days=d, hours=-1)).id
            for d in (30, 4, 12, 1, 60)]
    st = state(app)
    sam = st.directory.find("sam")
    assert sam is not None
    today = NOW.replace(hour=0)
    expected = (sorted(drafts, reverse=True) + [coming[i] for i in (1, 3, 2, 0)]
                + [past[i] for i in (3, 1, 2, 0, 4)])
    for size in (1, 2, 3, 4, 5, 11, 20):
        seen = []
        with st.sessions() as session:
            for number in range(1, 12 // size + 3):
                rows, total, more = services.my_page(session, sam, schools=st.schools.ids, number=number, size=size,
                                                     today=today)
                assert total == 11 and len(rows) <= size and more == (number * size < 11)
                seen += [visit.id for visit in rows]
        assert seen == expected, size


def test_a_list_longer_than_the_count_limit_says_more_than_and_still_pages_on(
        app: Flask, create_visit: Any, login: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(services, "COUNT_LIMIT", 3)
    for day in range(1, 6):
        create_visit(starts_at=NOW - timedelta(days=day), expected_return=NOW - timedelta(days=day, hours=-1))
    app.config["HOME_VISITS_PER_PAGE"] = 2
    client = login("alex")
    first = client.get("/home-visits/?scope=all").get_data(as_text=True)
    assert "More than 3 visits" in first and "Page 1</span>" in first and 'rel="next"' in first
    last = client.get("/home-visits/?scope=all&page=3").get_data(as_text=True)
    assert "Page 3</span>" in last and 'rel="next"' not in last and 'rel="prev"' in last
