"""What the dashboard and the visit page say about the safety chain, in words people read: how late
someone is (counted from the expected return, not from the end of the grace the escalation waits), and
each alert's fate ("First alert to the office and the responsible contact: not sent yet: the mail server
did not answer..."). Pure: no Flask, no database; the escalation maths stays in :mod:`.rules`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..policy import Policy
from . import rules

ORDINALS = ("First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth", "Ninth", "Tenth")

#: Who a policy recipient kind is, in words; listed in this order.
RECIPIENTS = {
    "office": "the office",
    "out_of_hours": "the out-of-hours contact",
    "responsible_contact": "the responsible contact",
    "second_staff": "the second member of staff",
    "approvers": "senior leaders",
}


def plural(count: int, word: str, many: str | None = None) -> str:
    """``plural(1, "minute")`` -> ``"1 minute"``; ``plural(3, "time")`` -> ``"3 times"``."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def minutes_past_return(expected_return: datetime | None, now: datetime) -> int:
    """Whole minutes since the expected return (0 before it): the number people read as "late by"."""
    if expected_return is None:
        return 0
    return max(0, int((now - expected_return).total_seconds() // 60))


def late_words(expected_return: datetime | None, now: datetime) -> str:
    """``"19 minutes past the expected return"``."""
    return f"{plural(minutes_past_return(expected_return, now), 'minute')} past the expected return"


def recipients(notify: Iterable[str]) -> str:
    """``["responsible_contact", "office"]`` -> ``"the office and the responsible contact"``."""
    kinds = set(notify)
    names = [words for kind, words in RECIPIENTS.items() if kind in kinds]
    names += sorted(f"the {kind[8:]} channel" if kind.startswith("webhook:") else kind.replace("_", " ")
                    for kind in kinds - RECIPIENTS.keys())
    if len(names) <= 1:
        return names[0] if names else "nobody"
    return ", ".join(names[:-1]) + " and " + names[-1]


def alert_name(key: str, notify: Iterable[str]) -> str:
    """What the alert is, from its key: ``tier-0`` -> ``"First alert to the office and ..."``."""
    if key.startswith("tier-") and key[5:].isdecimal():
        number = int(key[5:])
        ordinal = ORDINALS[number] if number < len(ORDINALS) else f"Alert {number + 1}:"
        return f"{ordinal} alert to {recipients(notify)}"
    if key.startswith("manual-"):
        return f"“Alert the office now” to {recipients(notify)}"
    if key.startswith("incident"):
        return f"Incident alert to {recipients(notify)}"
    if key == "not-checked-out":
        return f"Missed check-out alert to {recipients(notify)}"
    if key == "end-of-day":
        return f"End-of-day alert to {recipients(notify)}"
    return f"Alert to {recipients(notify)}"


def why_unsent(error: str) -> str:
    """The mail failure as a person would say it (the technical text stays in the history)."""
    low = error.lower()
    if "refused" in low and ("connection" in low or "errno 111" in low) or "timed out" in low or "timeout" in low \
            or "unreachable" in low or "name or service not known" in low or "errno -2" in low:
        return "the mail server did not answer"
    if "authentication" in low or "535" in low:
        return "the mail server would not accept the portal's login"
    if "recipient" in low or "no address" in low:
        return "the mail server would not take the address it was sent to"
    return "the mail server could not send it"


def alert_words(key: str, notify: Iterable[str], status: str, attempts: int, last_error: str,
                retry_minutes: int) -> str:
    """One alert in a sentence, with what to do when it did not go."""
    name = alert_name(key, notify)
    if status == "sent":
        return f"{name}: sent."
    if status == "failed":
        return (f"{name}: not sent yet — {why_unsent(last_error)} ({'tried ' + plural(attempts, 'time')}); "
                f"retrying every {plural(retry_minutes, 'minute')}. Phone them.")
    if status == "stopped":
        return f"{name}: not needed any more."
    if status == "sending":
        return f"{name}: being sent now."
    return f"{name}: waiting to be sent (within {plural(retry_minutes, 'minute')})."


def covering(now: datetime, policy: Policy) -> str:
    """Who the office's alerts reach at ``now``, in a sentence for the top of the dashboard."""
    escalation, local = policy.escalation, now.astimezone(policy.zone)
    cover = f"{escalation.out_of_hours_contact} is covering: alerts meant for the office go to them"
    if why := rules.closed_because(local.date(), policy):
        return f"The office is closed today ({why}); {cover} all day."
    if rules.office_open(now, policy):
        return (f"The office is open until {escalation.office_closes:%H:%M} and gets its alerts; after that "
                f"{escalation.out_of_hours_contact} covers.")
    if local.time() < escalation.office_opens:
        return f"The office opens at {escalation.office_opens:%H:%M}; until then {cover}."
    return f"The office has closed for the day; {cover}."


def channel_name(channel: str) -> str:
    """``webhook:on-call`` -> ``the on-call channel``; ``email`` -> ``email``."""
    return f"the {channel[8:]} channel" if channel.startswith("webhook:") else channel


def message_words(channel: str, status: str, attempts: int, last_error: str) -> str:
    """One webhook message in a sentence: sent, or why not yet and that it is retried."""
    name = channel_name(channel)
    if status == "sent":
        return f"Also to {name}: delivered."
    if status == "failed":
        return (f"Also to {name}: not delivered yet ({last_error}; tried {plural(attempts, 'time')}); "
                "retrying. The email above is not affected.")
    if status == "stopped":
        return f"Also to {name}: not needed any more."
    return f"Also to {name}: waiting to be sent."


def channel_report(name: str, health: Any, zone: Any) -> str:
    """``email: last success 12:50 on 07 Dec; last failure never``, for the test alert's report."""
    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%H:%M on %d %b %Y") if moment else "never"

    success = when(health.last_success_at if health else None)
    failure = when(health.last_failure_at if health else None)
    error = health.last_error if health and health.last_failure_at else ""
    why = f" ({why_unsent(error) if name == 'email' else error})" if error else ""
    return f"{name}: last success {success}; last failure {failure}{why}"
