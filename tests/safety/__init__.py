"""The safety chain: check out, back safe, overdue and missed check-outs, the sweep, alarms."""
