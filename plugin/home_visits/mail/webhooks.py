"""Alerts by webhook: the channels ``HOME_VISITS_ALERT_WEBHOOKS`` configures, their message bodies and one
POST. No Flask, no database here (the outbox and the sweep decide what to send and when).

Two formats. ``standard``: Standard Webhooks (the ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` headers, signed with the channel's ``whsec_`` secret by the ``standardwebhooks``
library) and the alert's facts as JSON: what an SMS gateway or an alarm-receiving centre connects to.
``teams``: a Microsoft Teams Workflows message (the "Send webhook alerts to a channel" template) holding an
Adaptive Card with the same facts and an "Open the visit" button; Teams' URL carries its own signature.
A body never carries a pupil's name: the visit's number is the reference.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from standardwebhooks.webhooks import Webhook

from ..policy.loader import DEFAULT_POLICY, StartupError, report_briefly
from ..schools import Schools

#: How a channel is named in a policy's ``notify`` list: ``webhook:<name>``.
PREFIX = "webhook:"


class ChannelsError(StartupError):
    """``HOME_VISITS_ALERT_WEBHOOKS``, or a policy naming a channel it lacks, cannot be used."""

    what = "the alert channels"


class ChannelError(Exception):
    """The channel did not take the message; :attr:`unreachable` when it did not answer at all (a timeout,
    a refused connection): the sweep gives that channel up until its next run."""

    def __init__(self, problem: str, *, unreachable: bool = False) -> None:
        super().__init__(problem)
        self.unreachable = unreachable


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2000)
    format: Literal["standard", "teams"] = "standard"
    secret: str | None = None

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                if not value.startswith("whsec_") or len(base64.b64decode(value[6:], validate=True)) < 16:
                    raise ValueError(value)
                Webhook(value)
            except Exception:  # noqa: BLE001 - the library's own words are about base64
                raise ValueError("not a Standard Webhooks secret (whsec_ and then at least 16 bytes in "
                                 "base64)") from None
        return value


@dataclass(frozen=True)
class Channel:
    """One configured channel: ``name`` as the policy writes it (``webhook:on-call``)."""

    name: str
    url: str
    format: str
    secret: str | None


def channels(config: Mapping[str, Any]) -> dict[str, Channel]:
    """The channels ``HOME_VISITS_ALERT_WEBHOOKS`` names (a mapping, or the same as a JSON string from the
    environment), by ``webhook:<name>``; :class:`ChannelsError` naming the channel and key if one is bad."""
    raw = config.get("HOME_VISITS_ALERT_WEBHOOKS") or {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise ChannelsError(f"HOME_VISITS_ALERT_WEBHOOKS: not JSON ({error})") from None
    if not isinstance(raw, Mapping):
        raise ChannelsError("HOME_VISITS_ALERT_WEBHOOKS: a mapping of channel name to {url, secret, format}")
    found = {}
    for name, settings in raw.items():
        if not isinstance(name, str) or not name or len(name) > 40 or not name.replace("-", "").replace(
                "_", "").isalnum() or name != name.lower():
            raise ChannelsError(f"HOME_VISITS_ALERT_WEBHOOKS: {name!r}: name channels in lower-case letters, "
                                "digits, - and _")
        try:
            parsed = _Settings.model_validate(settings)
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(str(part) for part in error["loc"]) or "(the channel)"
            raise ChannelsError(f"HOME_VISITS_ALERT_WEBHOOKS[{name!r}].{key}: "
                                f"{str(error['msg']).removeprefix('Value error, ')}") from None
        if parsed.format == "standard" and not parsed.secret:
            raise ChannelsError(f"HOME_VISITS_ALERT_WEBHOOKS[{name!r}].secret: a standard channel needs its "
                                "whsec_ secret, to sign what it sends")
        found[PREFIX + name] = Channel(PREFIX + name, parsed.url, parsed.format, parsed.secret)
    return found


def checked_channels(config: Mapping[str, Any], schools: Schools) -> dict[str, Channel]:
    """:func:`channels`, at start-up: also every channel a school's policy names must be configured, else
    :class:`ChannelsError` naming the policy file and the key (the process ends with that one line)."""
    try:
        known = channels(config)
        for school in schools:
            file = school.policy_file or str(DEFAULT_POLICY)
            escalation = school.policy.escalation
            named = {f"escalation.tiers[{n}].notify": tier.notify for n, tier in enumerate(escalation.tiers)}
            named["escalation.out_of_hours_channels"] = escalation.out_of_hours_channels
            for key, names in named.items():
                for channel in names:
                    if channel.startswith(PREFIX) and channel not in known:
                        have = ", ".join(name.removeprefix(PREFIX) for name in sorted(known)) or "none is set"
                        raise ChannelsError(f"{file}: {key}: {channel!r} is not a channel of "
                                            f"HOME_VISITS_ALERT_WEBHOOKS ({have})")
    except ChannelsError:
        report_briefly()
        raise
    return known


def body(channel: Channel, facts: Mapping[str, Any]) -> bytes:
    """What the channel is sent: the facts as they are (``standard``), or a Teams card of them."""
    if channel.format == "teams":
        return json.dumps(teams_card(facts)).encode()
    return json.dumps(facts).encode()


def teams_card(facts: Mapping[str, Any]) -> dict[str, Any]:
    """A Teams Workflows message with one Adaptive Card: the headline, the facts, the first step, a link."""
    shown = [("School", facts.get("school")), ("Step", facts.get("step")), ("Staff", "; ".join(
        f"{person['name']} ({person['phone'] or 'no phone'})" for person in facts.get("staff", []))),
        ("Expected back", facts.get("expected_back_local")), ("Overdue since", facts.get("overdue_since_local")),
        ("Visit", f"number {facts.get('visit_id')}")]
    card: dict[str, Any] = {
        "type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": facts["headline"], "weight": "Bolder", "size": "Medium", "wrap": True,
             "color": "Attention"},
            {"type": "FactSet", "facts": [{"title": title, "value": str(value)} for title, value in shown if value]},
            {"type": "TextBlock", "text": f"First: {facts.get('first_step', '')}", "wrap": True},
            {"type": "TextBlock", "text": "If anyone is in danger, call 999 now.", "wrap": True, "weight": "Bolder"},
        ],
    }
    if facts.get("link"):
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the visit", "url": facts["link"]}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def post(channel: Channel, message_id: str, payload: bytes, *, timeout: float) -> None:
    """POST ``payload`` to the channel (signed when it has a secret, stamped with the moment it is really
    sent, as receivers check it against their own clock), or raise :class:`ChannelError`."""
    now = datetime.now(timezone.utc)
    headers = {"Content-Type": "application/json", "User-Agent": "home-visits"}
    if channel.secret:
        headers |= {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
                    "webhook-signature": Webhook(channel.secret).sign(message_id, now, payload.decode())}
    request = urllib.request.Request(channel.url, data=payload, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - http(s) only, checked
            answer.read(1024)
    except urllib.error.HTTPError as error:
        raise ChannelError(f"the channel answered {error.code} {error.reason}") from None
    except TimeoutError as error:
        raise ChannelError(f"no answer within {timeout:g} s ({error})", unreachable=True) from None
    except urllib.error.URLError as error:
        raise ChannelError(f"could not reach the channel ({error.reason})", unreachable=True) from None
    except OSError as error:
        raise ChannelError(f"{type(error).__name__}: {error}", unreachable=True) from None
