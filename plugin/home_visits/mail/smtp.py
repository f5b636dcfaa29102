"""The plugin's one mail path: stdlib ``email`` messages sent with ``smtplib``. No Flask here."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any


class MailError(Exception):
    """The message could not be handed to the mail server; ``str()`` says why."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        return cls(
            host=config["HOME_VISITS_SMTP_HOST"],
            port=int(config["HOME_VISITS_SMTP_PORT"]),
            sender=config["HOME_VISITS_MAIL_FROM"],
            username=config["HOME_VISITS_SMTP_USERNAME"],
            password=config["HOME_VISITS_SMTP_PASSWORD"],
            starttls=bool(config["HOME_VISITS_SMTP_STARTTLS"]),
            ssl=bool(config["HOME_VISITS_SMTP_SSL"]),
            timeout=float(config["HOME_VISITS_SMTP_TIMEOUT"]),
        )


def compose(
    settings: MailSettings, *, to: Sequence[str], subject: str, text: str, html: str | None = None,
    headers: Mapping[str, str] | None = None, calendar: str | None = None,
) -> EmailMessage:
    """A plain-text message (with an HTML alternative when given), with any extra ``headers`` (the
    safety alerts' ``X-Home-Visit-Id``, say). Header values cannot carry CR/LF.

    ``calendar`` (an iMIP body, RFC 6047) becomes the last alternative, ``text/calendar; method=...;
    charset=UTF-8``, which Outlook, Exchange and Gmail read as the invitation itself, with the
    ``Content-Class`` header Outlook gives its own meeting requests."""
    message = EmailMessage()
    message["From"] = formataddr(("Home visits", settings.sender))
    message["To"] = ", ".join(to)
    message["Subject"] = " ".join(subject.split())
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    if calendar is not None:
        method = calendar.partition("METHOD:")[2].split("\r\n", 1)[0].strip() or "PUBLISH"
        message.add_alternative(calendar, subtype="calendar", charset="utf-8", params={"method": method})
        message["Content-Class"] = "urn:content-classes:calendarmessage"  # after the parts: set_content drops it
    return message


def send(settings: MailSettings, message: EmailMessage) -> None:
    """Hand ``message`` to the SMTP server, or raise :class:`MailError`."""
    try:
        if settings.ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.starttls:
                client.starttls(context=ssl.create_default_context())
            if settings.username:
                client.login(settings.username, settings.password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"{type(error).__name__}: {error}") from None


def mailer(settings: MailSettings) -> Callable[..., None]:
    """A function that composes and sends a plain-text message (with an optional HTML alternative)."""

    def send_text(to: Sequence[str], subject: str, text: str, html: str | None = None,
                  headers: Mapping[str, str] | None = None, calendar: str | None = None) -> None:
        send(settings, compose(settings, to=to, subject=subject, text=text, html=html, headers=headers,
                               calendar=calendar))

    return send_text
