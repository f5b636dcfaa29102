"""The SLT calendar: iCalendar output, feeds, tokens."""
