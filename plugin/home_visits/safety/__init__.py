"""The safety chain: when a visit is overdue or its check-out missed (:mod:`.rules`), alarms and who takes
charge (:mod:`.service`), the escalation sweep cron runs (:mod:`.sweep`), the doorstep and dashboard pages
(:mod:`.views`)."""

from .rules import MISSED, OUT, OVERDUE, Due, due_alerts, status

__all__ = ["MISSED", "OUT", "OVERDUE", "Due", "due_alerts", "status"]
