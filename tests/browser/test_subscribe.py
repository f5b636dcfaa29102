"""The headteacher subscribes to the visits calendar: create the link, copy it, fetch it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import assert_no_axe_violations, login

pytestmark = pytest.mark.browser


def test_approver_copies_the_link_and_the_feed_holds_the_authorised_visit(start_portal, new_page) -> None:
    portal = start_portal(seed=True)
    page = new_page(portal)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal.url)
    login(page, "alex")
    page.get_by_role("link", name="Home visits").first.click()
    page.get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", name="Your visits calendar")).to_be_visible()
    assert_no_axe_violations(page, what="the Subscribe page before a link exists")

    page.get_by_role("button", name="Create my calendar link").click()
    link = page.get_by_label('Link for "Subscribe from web" / "Add from internet"')
    url = link.input_value()
    assert url.startswith(portal.url + "/home-visits/calendar/") and url.endswith(".ics")
    webcal = page.get_by_role("link", name="Open in my calendar app")
    expect(webcal).to_have_attribute("href", "webcal://" + url.split("://", 1)[1])
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url
    assert_no_axe_violations(page, what="the Subscribe page showing a new link")

    feed = page.request.get(url)
    assert feed.status == 200 and feed.headers["content-type"] == "text/calendar; charset=utf-8"
    body = feed.text()
    assert "Home visit: " in body and "R.E." in body and "STATUS:CONFIRMED" in body
    assert "Riley" not in body  # initials only

    page.get_by_role("button", name="Stop my calendar link").click()
    expect(page.get_by_text("You have no calendar link yet.")).to_be_visible()
    assert page.request.get(url).status == 404
