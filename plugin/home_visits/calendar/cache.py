"""Each calendar event's bytes, kept by everything they show, so a feed after one change re-serialises
one event and joins the rest.

Pure: no Flask, no database. The app keeps one :class:`EventCache` in its state
(``app.extensions["home_visits"]``), sized by ``HOME_VISITS_FEED_EVENT_CACHE``; :func:`.ical.build_feed`
and :func:`.ical.build_keyed_feed` take it as an option. A key is what stands for the event's whole
content: for a built :class:`.ical.FeedEvent`, the event itself (it compares by every field); for a
feed's row, the key :mod:`.rows` makes before any event is built (the row, the link, the overdue time,
the directory's names and phones, the policy's words). The feed adds what it adds to an event (zone,
detail level, domain): two equal keys give the same bytes, so a cached feed is byte for byte a cold build."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from threading import Lock

from ..config import HOME_VISITS_FEED_EVENT_CACHE


class EventCache:
    """Serialised events by key, at most ``limit`` of them, the least recently used out first.

    Safe to share between a server's threads: every look-up and insertion holds one lock (two
    threads may serialise the same event at once; both get the same bytes). ``limit`` 0 keeps nothing.
    """

    def __init__(self, limit: int = HOME_VISITS_FEED_EVENT_CACHE) -> None:
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = Lock()
        self._limit = 0
        self.resize(limit)

    @property
    def limit(self) -> int:
        return self._limit

    def resize(self, limit: int) -> None:
        """Keep at most ``limit`` events from now on (dropping the least recently used beyond it)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"HOME_VISITS_FEED_EVENT_CACHE must be a whole number of events, 0 or more, not {limit!r}")
        with self._lock:
            self._limit = limit
            self._trim()

    def get(self, key: Hashable) -> bytes | None:
        """The bytes kept for ``key`` (now the most recently used), or ``None``; ``None`` too for a key
        that cannot be hashed (an event built with a list of risk flags): it is simply not cached."""
        try:
            with self._lock:
                found = self._items.get(key)
                if found is not None:
                    self._items.move_to_end(key)
                return found
        except TypeError:
            return None

    def get_many(self, keys: Sequence[Hashable]) -> list[bytes | None]:
        """:meth:`get` for each of ``keys`` in turn, under one lock (a feed asks for thousands at once)."""
        found: list[bytes | None] = []
        with self._lock:
            items = self._items
            for key in keys:
                try:
                    value = items.get(key)
                except TypeError:
                    value = None
                if value is not None:
                    items.move_to_end(key)
                found.append(value)
        return found

    def put(self, key: Hashable, value: bytes) -> None:
        """Keep ``value`` for ``key`` as the most recently used, dropping the least recently used
        beyond the limit."""
        if not self._limit:
            return
        try:
            with self._lock:
                self._items[key] = value
                self._items.move_to_end(key)
                self._trim()
        except TypeError:
            return

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        try:
            with self._lock:
                return key in self._items
        except TypeError:
            return False

    def _trim(self) -> None:
        while len(self._items) > self._limit:
            self._items.popitem(last=False)
