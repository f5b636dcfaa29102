"""The SLT calendar: visits as iCalendar bytes (:mod:`.ical`), feed tokens, polls and ETags
(:mod:`.service`), the Subscribe page and the feed URL (:mod:`.views`)."""

from .ical import FeedEvent, Staff, build_feed

__all__ = ["FeedEvent", "Staff", "build_feed"]
