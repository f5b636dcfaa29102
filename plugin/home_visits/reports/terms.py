"""English school terms as report presets. Pure: no Flask, no database.

The rule (simple, and the same every year, whatever a school's own dates): the autumn term runs from
1 September to 31 December, the spring term from 1 January to 31 March, the summer term from 1 April
to 31 August; a school year runs from 1 September to 31 August. Holidays fall inside these ranges, so a
report over a term counts every visit of that term, including any made in its half-term.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # inclusive


def school_year_of(day: date) -> int:
    """The calendar year in which the school year holding ``day`` began (September)."""
    return day.year if day.month >= 9 else day.year - 1


def terms_of_year(first: int) -> list[Period]:
    """The three terms of the school year that starts in September of ``first``."""
    return [
        Period(f"Autumn term {first}", date(first, 9, 1), date(first, 12, 31)),
        Period(f"Spring term {first + 1}", date(first + 1, 1, 1), date(first + 1, 3, 31)),
        Period(f"Summer term {first + 1}", date(first + 1, 4, 1), date(first + 1, 8, 31)),
    ]


def school_year(first: int) -> Period:
    return Period(f"School year {first}–{str(first + 1)[-2:]}", date(first, 9, 1), date(first + 1, 8, 31))


def presets(today: date) -> list[Period]:
    """This school year's terms, the whole school year, and last school year."""
    first = school_year_of(today)
    return [*terms_of_year(first), school_year(first), school_year(first - 1)]
