"""The plugin's tables (all prefixed ``home_visits_``), as SQLAlchemy 2 models."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the plugin stores aware UTC times only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class Visit(Base):
    """One planned home visit, from draft to its end."""

    __tablename__ = "home_visits_visit"
    __table_args__ = (
        Index("ix_home_visits_visit_state_starts", "state", "starts_at"),
        Index("ix_home_visits_visit_lead", "lead_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Grows with every save; a stale form is refused instead of overwriting (optimistic locking).
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: Calendar SEQUENCE: grows by one with each change a calendar shows (time, place, staff, status).
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: One of :data:`home_visits.workflow.STATES`.
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="draft")

    #: The pupil's name or the host's reference, as staff typed it. Never in titles, emails or logs.
    pupil: Mapped[str] = mapped_column(String(120), nullable=False)
    #: Initials derived from ``pupil``, safe for calendar titles and emails.
    pupil_initials: Mapped[str] = mapped_column(String(12), nullable=False, default="")
    address: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    #: Upper-case, single-spaced UK postcode; with ``address`` it tells a first visit from a repeat.
    postcode: Mapped[str] = mapped_column(String(10), nullable=False, default="", index=True)

    #: A policy reason id, or ``other`` with ``reason_other`` filled in.
    reason: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    reason_other: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    purpose: Mapped[str] = mapped_column(Text, nullable=False, default="")

    #: Planned start and expected return, aware UTC.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expected_return: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: Host user ids (strings, as Flask-Login's ``get_id()`` returns them).
    lead_id: Mapped[str] = mapped_column(String(64), nullable=False)
    second_staff_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: Why the lead goes alone when there is no second member of staff.
    alone_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    contact_id: Mapped[str | None] = mapped_column(String(64), index=True)
    contact_phone: Mapped[str] = mapped_column(String(40), nullable=False, default="")

    #: ``yes`` / ``no`` / ``not_asked``: did the family agree to the visit.
    family_agreed: Mapped[str] = mapped_column(String(12), nullable=False, default="")
    #: How the appointment was made (phone, letter, in person, unannounced).
    appointment: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    #: How staff travel (car, walking, school vehicle, public transport).
    travel: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    language_needs: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    agencies: Mapped[str] = mapped_column(String(500), nullable=False, default="")

    #: Policy risk-factor ids ticked on the plan.
    risk_factors: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    risk_notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Policy alternative ids considered before choosing a visit.
    alternatives: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    alternatives_notes: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    #: Policy before-visit checklist ids ticked.
    checklist: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)

    #: Set when a plan is declined.
    decline_reason: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    authorised_by: Mapped[str | None] = mapped_column(String(64))
    authorised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: When the visiting staff checked out at the door, and back in ("closed off").
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why the expected return was last extended, shown to the office.
    extension_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    #: A responder said "I'm handling this": no further escalation tiers fire.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    audit: Mapped[list[AuditEntry]] = relationship(
        back_populates="visit", order_by="AuditEntry.id", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}

    def involves(self, person_id: str) -> bool:
        """True when the person leads, goes second, or is the responsible contact."""
        return person_id in (self.lead_id, self.second_staff_id, self.contact_id)


class AuditEntry(Base):
    """One line of a visit's append-only audit trail: who did what, when."""

    __tablename__ = "home_visits_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("home_visits_visit.id"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: Host user id of whoever acted.
    actor_id: Mapped[str] = mapped_column(String(64), nullable=False)
    #: What happened: ``created``, ``edited``, ``submitted``, ``authorised``, ...
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    #: Which plan fields changed, for ``edited`` entries.
    changes: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)

    visit: Mapped[Visit] = relationship(back_populates="audit")


class FeedToken(Base):
    """A personal calendar feed URL. Only a hash of the token is kept; the URL is shown once."""

    __tablename__ = "home_visits_feed_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Host user id of the subscriber.
    person_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    #: SHA-256 of the token, hex; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    #: ``all`` (approvers and office) or ``own`` (visits the person is part of).
    scope: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: Set when revoked; a revoked token answers 404.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChangeMarker(Base):
    """One row that moves whenever any visit changes: feeds compare it to answer 304 cheaply,
    and it holds across processes and machines because it lives in the database."""

    __tablename__ = "home_visits_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Grows by one with every change to any visit.
    counter: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Alert(Base):
    """One escalation email for one visit. The unique key makes it once per tier per visit, ever,
    however many sweeps run at the same time."""

    __tablename__ = "home_visits_alert"
    __table_args__ = (
        UniqueConstraint("visit_id", "key", name="uq_home_visits_alert_visit_key"),
        Index("ix_home_visits_alert_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("home_visits_visit.id"), nullable=False)
    #: ``tier-<n>``, ``end-of-day`` or ``manual-<n>``.
    key: Mapped[str] = mapped_column(String(40), nullable=False)
    #: Policy recipient kinds (``responsible_contact``, ``office``, ...).
    notify: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    #: ``pending``, ``sending`` (claimed by a sweep), ``sent``, ``failed`` (retried), ``stopped``.
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    #: Who raised it by hand ("alert the office now"); empty for the sweep's own alerts.
    raised_by: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRun(Base):
    """When each scheduled command last ran, so the dashboard can warn if cron has stopped."""

    __tablename__ = "home_visits_job"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: What the last run did, in a few words.
    summary: Mapped[str] = mapped_column(String(200), nullable=False, default="")
