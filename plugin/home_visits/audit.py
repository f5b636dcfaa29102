"""The visit's append-only trail: every step, by whom and when. No Flask here.

:func:`audit` is the only way the plugin writes audit rows (the model refuses updates and deletes);
it adds the row to the session and leaves committing to whoever started the unit of work.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from .models import AuditEntry, Visit
from .people import Person

#: The actor recorded for what the plugin does by itself (the safety sweep, plan emails, the digest).
SYSTEM = Person("system", "Automatic safety check")


def audit(session: Session, visit: Visit, actor: Person, action: str, now: datetime, **values: object) -> AuditEntry:
    """Append one line to the visit's trail."""
    entry = AuditEntry(visit=visit, at=now, actor_id=actor.id, action=action, **values)
    session.add(entry)
    return entry
