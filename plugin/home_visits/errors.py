"""What can go wrong in the plugin's own terms: a rule broken, a move refused, a form gone stale.

Pure: no Flask, no database. Views turn these into pages with the right status (``web/``); commands
into messages and exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """A rule a plan or a record breaks: the form field to show it beside, and what to do, in plain words."""

    field: str
    message: str


class WorkflowError(Exception):
    """A move that is not allowed; ``str()`` says why in plain words. ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class BreaksRules(Exception):
    """A save or a decision the policy's rules refuse; ``problems`` says which, field by field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


class NotSubmitted(BreaksRules):
    """A plan or a record not ready to submit: the view keeps nothing of that save and shows ``problems``."""


class StaleEdit(Exception):
    """The plan changed since the form was opened."""


class StaleRecord(Exception):
    """The record changed since the form was opened."""


__all__ = ["BreaksRules", "NotSubmitted", "Problem", "StaleEdit", "StaleRecord", "WorkflowError"]
