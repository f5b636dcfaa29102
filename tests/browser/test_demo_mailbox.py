"""The Demo mailbox: what the demo's own mail server on loopback caught, read on a phone (issue VIII)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from .conftest import login

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def test_the_mailbox_shows_every_email_escaped_with_its_visit_link_on_a_phone(start_portal, new_page) -> None:
    portal = start_portal(seed=True, DEMO_LIVE=True, DEMO_SWEEP_SECONDS=3600)
    host, port = portal.app.config["HOME_VISITS_SMTP_HOST"], portal.app.config["HOME_VISITS_SMTP_PORT"]
    assert host == "127.0.0.1" and port != 25
    long_link = f"{portal.url}/home-visits/1?" + "x" * 300
    message = EmailMessage()
    message["From"], message["To"] = "home-visits@school.example", "office@school.example"
    message["Subject"] = "<script>window.hacked=1</script> OVERDUE: test"
    message.set_content(f"Open the visit: {long_link}\n<img src=x onerror=window.hacked=1>")
    with smtplib.SMTP(host, port, timeout=10) as smtp:  # the plugin's own path sends the same way
        smtp.send_message(message)
    page = new_page(portal, **PHONE)
    login(page, "office")
    page.get_by_role("link", name="Demo mailbox").first.click()
    article = page.locator("article.mail").first
    assert article.get_by_role("heading", level=2).inner_text() == message["Subject"]
    assert "office@school.example" in article.inner_text()
    assert "<img src=x onerror=window.hacked=1>" in article.locator("pre").inner_text()
    assert page.evaluate("window.hacked") is None
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    article.get_by_role("link", name="Open visit 1").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Home visit: Riley Example"
