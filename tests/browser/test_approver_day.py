"""The approver authorises from the queue; the visit card prints on one page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import Visit

from .conftest import assert_no_axe_violations, login

pytestmark = pytest.mark.browser


def test_authorise_a_low_risk_plan_from_the_queue(start_portal, new_page) -> None:
    portal = start_portal(seed=True)
    page = new_page(portal)
    login(page, "alex")
    page.goto("/home-visits/approvals")
    row = page.get_by_role("row").filter(has_text="M.S.")
    expect(row).to_contain_text(re.compile(r"minute|hour|day|just now"))
    assert_no_axe_violations(page, what="the approvals queue")
    row.get_by_role("button", name=re.compile("^Authorise the visit to M.S.")).click()
    expect(page.get_by_text("Plan authorised.")).to_be_visible()
    expect(page.get_by_text("Nothing is waiting for a decision.")).to_be_visible()
    with state(portal.app).sessions() as session:
        assert session.scalars(select(Visit.state).where(Visit.pupil == "Morgan Sample")).one() == "authorised"


def test_the_visit_card_prints_on_one_page(start_portal, new_page, tmp_path) -> None:
    portal = start_portal(seed=True)
    with state(portal.app).sessions() as session:
        visit = session.scalars(select(Visit).where(Visit.state == "authorised")).one()
    page = new_page(portal)
    login(page, "sam")
    page.goto(f"/home-visits/{visit.id}")
    page.get_by_role("link", name="Print the visit card").click()
    expect(page.get_by_role("heading", name="Home visit card: R.E.")).to_be_visible()
    assert_no_axe_violations(page, what="the visit card")
    pdf = page.pdf(path=str(tmp_path / "card.pdf"), format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1, f"the card printed on {pages} pages"
