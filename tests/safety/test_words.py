"""The safety chain in words: plurals, recipients, and a failed alert said as a person would say it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from home_visits.safety import words

BACK = datetime(2026, 3, 4, 11, 0, tzinfo=timezone.utc)


def test_lateness_counts_from_the_expected_return() -> None:
    assert words.late_words(BACK, BACK + timedelta(minutes=15)) == "15 minutes past the expected return"
    assert words.late_words(BACK, BACK + timedelta(minutes=1, seconds=30)) == "1 minute past the expected return"
    assert words.late_words(BACK, BACK - timedelta(minutes=5)) == "0 minutes past the expected return"


def test_alerts_in_words() -> None:
    refused = "ConnectionRefusedError: [Errno 111] Connection refused"
    assert words.alert_words("tier-0", ["responsible_contact", "office"], "failed", 1, refused, 5) == (
        "First alert to the office and the responsible contact: not sent yet — the mail server did not answer "
        "(tried 1 time); retrying every 5 minutes. Phone them.")
    assert "(tried 3 times); retrying every 1 minute." in words.alert_words("tier-1", ["approvers"], "failed", 3,
                                                                            "timed out", 1)
    assert words.alert_words("tier-1", ["approvers", "second_staff"], "sent", 1, "", 5) == (
        "Second alert to the second member of staff and senior leaders: sent.")
    assert words.alert_words("manual-1", ["office", "approvers"], "pending", 0, "", 5).startswith(
        "“Alert the office now” to the office and senior leaders: waiting")
    assert "would not accept the portal's login" in words.alert_words(
        "end-of-day", ["out_of_hours"], "failed", 2, "SMTPAuthenticationError: (535, b'bad')", 5)
