"""What the plugin keeps per app, in ``app.extensions["home_visits"]``: nothing lives on the extension object.

Views and commands read it through :func:`state`; the extension (``extension.py``) makes it once per app,
handing in the calendar's caches. ``State`` knows no domain: those parts are typed by the protocols here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .people import Directory
from .policy import Policy
from .schools import Schools

#: The key of the plugin's state in ``app.extensions``, and the name of its blueprint.
EXTENSION_KEY = "home_visits"


class HasExtensions(Protocol):
    extensions: dict[str, Any]


class EventBytes(Protocol):
    """Built calendar events by key, bounded (the calendar's ``EventCache`` is one)."""

    def get_many(self, keys: Sequence[Hashable]) -> list[bytes | None]: ...
    def put(self, key: Hashable, value: bytes) -> None: ...
    def resize(self, limit: int) -> None: ...
    def clear(self) -> None: ...
    def __len__(self) -> int: ...


class DirectoryMark(Protocol):
    """A fingerprint of what the directory says about staff, and when it last changed (the calendar's
    ``StaffMark`` is one)."""

    seconds: float

    def current(self, directory: Directory, *, now: datetime, monotonic: float) -> tuple[str, datetime]: ...


@dataclass
class State:
    """Everything the plugin keeps per app."""

    #: The portal's schools (one, or a trust's), each with its policy.
    schools: Schools
    engine: Engine
    sessions: sessionmaker[Session]
    directory: Directory
    #: What "now" is; tests and simulations replace it with a controlled clock.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    #: Recently built calendar feeds by ETag key, so many subscribers of one feed cost one build.
    feed_cache: OrderedDict[Any, bytes] = field(default_factory=OrderedDict)
    #: Each calendar event's bytes by everything it shows, least recently used out first, at most
    #: ``HOME_VISITS_FEED_EVENT_CACHE`` of them: a feed after one change serialises one event again.
    event_cache: EventBytes = field(kw_only=True)
    #: What the feeds show about staff from the host's directory (``HOME_VISITS_DIRECTORY_REFRESH``).
    staff_mark: DirectoryMark = field(kw_only=True)
    #: The headers every plugin response carries (``HOME_VISITS_SECURITY_HEADERS`` over the defaults).
    security_headers: dict[str, str] = field(default_factory=dict)
    #: Set-up problems already written to the log (each is logged once per app, not on every request).
    warned: set[str] = field(default_factory=set)
    #: What else a decision or an edit of a visit queues, in its unit of work: called with the session,
    #: the visit and now (the calendar's invitations are one); a floor below calls up through these.
    on_visit_change: list[Callable[[Session, Any, datetime], None]] = field(default_factory=list)

    def visit_changed(self, session: Session, visit: Any, now: datetime) -> None:
        """Run each :attr:`on_visit_change` for ``visit`` (inside the caller's unit of work)."""
        for hook in self.on_visit_change:
            hook(session, visit, now)

    @property
    def policy(self) -> Policy:
        """The portal-wide policy: the one school's, or in a trust the trust's (``HOME_VISITS_POLICY``).
        Anything about one visit reads its school's instead: :meth:`policy_for`."""
        return self.schools.trust_policy

    def policy_for(self, school_id: str) -> Policy:
        """The policy of the school ``school_id`` (:class:`KeyError` for a school not configured)."""
        return self.schools.policy(school_id)


def state(app: HasExtensions) -> State:
    """The plugin's state for ``app`` (raises a clear error if ``init_app`` was never called)."""
    try:
        return app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
    except KeyError:
        raise RuntimeError("HomeVisits.init_app(app) has not been called for this app.") from None
