"""The handbook's printable sheet is one A4 page in Chromium's print-to-PDF."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def pdf_pages(pdf: bytes) -> int:
    """Pages in a PDF: its ``/Type /Page`` objects (not ``/Pages``; Chromium writes no object streams)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_handbook_printable_is_one_a4_page(browser, handbook_site) -> None:
    handbook_site.require()
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        page.goto((handbook_site.site / "printable-checklist.html").as_uri())
        pdf = page.pdf(format="A4")
    finally:
        context.close()
    assert pdf.startswith(b"%PDF")
    assert pdf_pages(pdf) == 1, f"the printable sheet prints on {pdf_pages(pdf)} A4 pages"


def test_handbook_pdf_page_count_sees_every_page(browser, handbook_site) -> None:
    """The counter itself: a long page (the calendar guide) prints on more than one A4 page."""
    handbook_site.require()
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        page.goto((handbook_site.site / "slt-calendar.html").as_uri())
        assert pdf_pages(page.pdf(format="A4")) > 1
    finally:
        context.close()
