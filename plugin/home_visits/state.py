"""What the plugin keeps per app, in ``app.extensions["home_visits"]``: nothing lives on the extension object.

Views and commands read it through :func:`state`; the extension (``extension.py``) makes it once per app.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from . import config
from .calendar.cache import EventCache
from .calendar.service import StaffMark
from .people import Directory
from .policy import Policy
from .schools import Schools

EXTENSION_KEY = "home_visits"


class HasExtensions(Protocol):
    extensions: dict[str, Any]


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
    event_cache: EventCache = field(default_factory=lambda: EventCache(config.HOME_VISITS_FEED_EVENT_CACHE))
    #: What the feeds show about staff from the host's directory (``HOME_VISITS_DIRECTORY_REFRESH``).
    staff_mark: StaffMark = field(default_factory=lambda: StaffMark(config.HOME_VISITS_DIRECTORY_REFRESH))
    #: The headers every plugin response carries (``HOME_VISITS_SECURITY_HEADERS`` over the defaults).
    security_headers: dict[str, str] = field(default_factory=dict)
    #: Set-up problems already written to the log (each is logged once per app, not on every request).
    warned: set[str] = field(default_factory=set)

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
