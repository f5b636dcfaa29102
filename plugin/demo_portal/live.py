"""What keeps the demo alive while it is served, and exists in the demo only: its clock, a mail server on
loopback with the Demo mailbox it fills, and the escalation sweep every minute in a background thread.

A deployment has none of this: its clock is the real one, its mail goes to the school's server, and cron (or
a systemd timer) runs ``flask home-visits escalate`` as the README says.

* ``DEMO_NOW`` (``FLASK_DEMO_NOW=2026-03-04T23:50``) starts the demo's clock at that moment, a time at the
  first school unless it carries an offset, and lets it run on from there: the seed, the pages, the sweep
  and the mailbox all see that time. Unset: the real time.
* The mail server (aiosmtpd) listens on 127.0.0.1 only, on ``DEMO_SMTP_PORT`` (0: a free port), and keeps
  the last :data:`KEPT` emails in memory; the plugin's own SMTP path delivers to it. It starts only when no
  ``HOME_VISITS_SMTP_HOST`` was configured: pointing the demo at a real mail server turns it off.
* The sweep runs :func:`home_visits.cli.run_escalation` every ``DEMO_SWEEP_SECONDS``, one thread per process.

They start when ``flask --app demo_portal run`` serves the app (in the reloader's child under ``--debug``,
never in the parent that only watches files), not for other commands or tests; ``DEMO_LIVE`` true or false
overrides that.
"""

from __future__ import annotations

import atexit
import email
import email.policy
import os
import re
import socket
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from time import monotonic
from typing import Any

import click
from aiosmtpd.controller import Controller
from flask import Flask
from flask.helpers import get_debug_flag

from home_visits.cli import run_escalation

#: How many emails the Demo mailbox keeps (the oldest go first).
KEPT = 500
#: The plugin's address of a visit in an email's text: its number.
VISIT_PATH = re.compile(r"/home-visits/(\d{1,10})\b")


class DemoClock:
    """The demo's "now": ``start`` when the demo started, running on at the real pace."""

    def __init__(self, start: datetime) -> None:
        self.start, self._began = start.astimezone(timezone.utc), monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=monotonic() - self._began)


def demo_clock(value: Any, zone: tzinfo) -> DemoClock | None:
    """The clock ``DEMO_NOW`` asks for (a time without an offset is read in ``zone``), or None when unset.
    A value that is not a date and time stops the start, naming the key."""
    if value in (None, ""):
        return None
    try:
        start = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"DEMO_NOW: {value!r} is not a date and time such as 2026-03-04T23:50") from None
    return DemoClock(start if start.tzinfo else start.replace(tzinfo=zone))


def serving(config: Mapping[str, Any]) -> bool:
    """Whether this process serves the demo's pages: ``flask run`` (in the reloader's child when it reloads),
    unless ``DEMO_LIVE`` says otherwise. Never in the reloader's parent, which serves nothing."""
    context = click.get_current_context(silent=True)
    running = context is not None and context.info_name == "run"
    if running and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        reload = context.params.get("reload") if context else None
        if get_debug_flag() if reload is None else reload:
            return False
    wanted = config.get("DEMO_LIVE")
    return running if wanted is None else bool(wanted)


@dataclass(frozen=True)
class Mail:
    """One email as the Demo mailbox shows it."""

    when: datetime
    to: str
    subject: str
    body: str
    visit_ids: tuple[int, ...]


class Mailbox:
    """The aiosmtpd handler: every message delivered to the demo's mail server, newest first."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._mails: deque[Mail] = deque(maxlen=KEPT)
        self._lock = threading.Lock()
        self.address: tuple[str, int] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",)) if hasattr(message, "get_body") else None
        body = part.get_content() if part is not None else ""
        ids = tuple(dict.fromkeys(int(found) for found in VISIT_PATH.findall(body)))
        mail = Mail(self.clock(), ", ".join(envelope.rcpt_tos), str(message.get("Subject", "")), body, ids)
        with self._lock:
            self._mails.appendleft(mail)
        return "250 Message accepted for delivery"

    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_mail_server(app: Flask, clock: Callable[[], datetime]) -> Mailbox:
    """Start aiosmtpd on loopback and point the plugin's SMTP settings at it; stopped when the process ends."""
    mailbox = Mailbox(clock)
    port = int(app.config.get("DEMO_SMTP_PORT") or 0) or _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    atexit.register(controller.stop)
    mailbox.address = ("127.0.0.1", port)
    app.config.update(HOME_VISITS_SMTP_HOST="127.0.0.1", HOME_VISITS_SMTP_PORT=port,
                      HOME_VISITS_SMTP_USERNAME=None, HOME_VISITS_SMTP_PASSWORD=None,
                      HOME_VISITS_SMTP_STARTTLS=False, HOME_VISITS_SMTP_SSL=False)
    app.logger.warning("Demo mail server on 127.0.0.1:%s: every email stays on this machine (Demo mailbox)", port)
    return mailbox


_sweeper: threading.Thread | None = None
_sweeper_lock = threading.Lock()


def sweep_once(app: Flask) -> None:
    """One run of the escalation sweep, as ``flask home-visits escalate`` does it; a failure is logged, and the
    next run is tried all the same."""
    with app.app_context():
        try:
            result, plans = run_escalation()
        except Exception:  # noqa: BLE001 - the demo's sweep carries on, as cron would run it again
            app.logger.exception("The demo's escalation sweep failed")
            return
        app.logger.info("Demo escalation sweep: %s; plan emails: %s sent, %s failed", result, plans.sent,
                        plans.failed)


def start_sweeper(app: Flask) -> threading.Thread:
    """The escalation sweep now, then every ``DEMO_SWEEP_SECONDS`` in a daemon thread (one per process:
    a second call gives the running one); it stops with the process."""
    global _sweeper
    with _sweeper_lock:
        if _sweeper is not None and _sweeper.is_alive():
            return _sweeper
        every = float(app.config["DEMO_SWEEP_SECONDS"])
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every):
                sweep_once(app)

        sweep_once(app)  # the first run before the first page, so no dashboard opens on "never run"

        _sweeper = threading.Thread(target=loop, name="demo-escalation-sweep", daemon=True)
        atexit.register(stop.set)
        _sweeper.start()
        return _sweeper
