"""Report presets follow the English school terms rule the page states."""

from __future__ import annotations

from datetime import date

from home_visits.reports.terms import presets


def test_presets_around_the_turn_of_the_year() -> None:
    november = [(p.label, p.start, p.end) for p in presets(date(2026, 11, 29))]
    assert november == [
        ("Autumn term 2026", date(2026, 9, 1), date(2026, 12, 31)),
        ("Spring term 2027", date(2027, 1, 1), date(2027, 3, 31)),
        ("Summer term 2027", date(2027, 4, 1), date(2027, 8, 31)),
        ("School year 2026–27", date(2026, 9, 1), date(2027, 8, 31)),
        ("School year 2025–26", date(2025, 9, 1), date(2026, 8, 31)),
    ]
    assert presets(date(2027, 8, 31))[0].label == "Autumn term 2026"  # still that school year
    assert presets(date(2027, 9, 1))[0].label == "Autumn term 2027"
