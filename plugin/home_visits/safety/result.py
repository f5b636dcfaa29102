"""What one run of the escalation sweep did: counted by the sweep and by the channels it sends through."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Result:
    raised: int = 0
    sent: int = 0
    failed: int = 0
    stopped: int = 0
    #: Visits the sweep could not handle (a bug or a bad row), by id, with what went wrong.
    broken: dict[int, str] = field(default_factory=dict)
    #: Alert messages that went, by channel (``email``, ``webhook:<name>``).
    by_channel: Counter[str] = field(default_factory=Counter)
    #: Webhook messages that did not go this time (retried).
    channels_failed: int = 0

    def __str__(self) -> str:
        text = f"{self.raised} raised, {self.sent} sent, {self.failed} failed, {self.stopped} no longer needed"
        if self.channels_failed:
            text += f", {self.channels_failed} webhook message(s) failed"
        return text + (f", {len(self.broken)} visits could not be checked" if self.broken else "")

    def channel_counts(self) -> str:
        """``by email 3, by webhook:on-call 3``: what went by each channel."""
        return ", ".join(f"by {name} {count}" for name, count in sorted(self.by_channel.items())) or "none"

    def add(self, other: Result) -> None:
        self.raised += other.raised
        self.sent += other.sent
        self.failed += other.failed
        self.stopped += other.stopped
        self.broken.update(other.broken)
        self.by_channel.update(other.by_channel)
        self.channels_failed += other.channels_failed
