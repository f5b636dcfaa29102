"""What every change to a visit does besides its own columns: stamp it, raise its calendar SEQUENCE when a
calendar shows what changed, and move the change marker that calendar feeds compare (their ETag and their
cache follow it). Services call these inside their unit of work; no Flask.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from .models import ChangeMarker, Visit


def touch(session: Session, now: datetime) -> None:
    """Move the change marker that calendar feeds compare (one atomic UPDATE)."""
    session.execute(
        update(ChangeMarker).where(ChangeMarker.id == 1).values(counter=ChangeMarker.counter + 1, changed_at=now)
    )


def moved(session: Session, visit: Visit, now: datetime, *, shown: bool = True) -> None:
    """A visit changed: stamp it and, when a calendar shows the change, raise its SEQUENCE."""
    visit.updated_at = now
    if shown:
        visit.sequence += 1
    touch(session, now)
