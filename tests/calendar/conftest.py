"""What the calendar tests share: which events a feed build serialised (rather than took from the cache)."""

from __future__ import annotations

from typing import Any

import pytest

from home_visits.calendar import ical


@pytest.fixture
def serialised(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The visit ids of every event the feed serialises (as opposed to taking from the cache)."""
    made: list[int] = []
    real = ical.serialise_event

    def counting(event: ical.FeedEvent, **options: Any) -> bytes:
        made.append(event.visit_id)
        return real(event, **options)

    monkeypatch.setattr(ical, "serialise_event", counting)
    return made
