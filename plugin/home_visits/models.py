"""The plugin's tables (all prefixed ``home_visits_``), as SQLAlchemy 2 models: one metadata for migrations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .db import UTCDateTime

#: An aware UTC moment that every row of its table has.
When = Annotated[datetime, mapped_column(UTCDateTime, nullable=False)]
#: A person's permanent id from the host's directory.
PersonId = Annotated[str, mapped_column(String(64), nullable=False)]


class Base(DeclarativeBase):
    pass


class Visit(Base):
    """One planned home visit, from draft to its end."""

    __tablename__ = "home_visits_visit"
    __table_args__ = (
        Index("ix_home_visits_visit_state_starts", "state", "starts_at"),
        Index("ix_home_visits_visit_lead", "lead_id", "starts_at"),
        # "My visits" and "all visits" page through these, newest first, without sorting everything.
        Index("ix_home_visits_visit_starts", "starts_at", "id"),
        Index("ix_home_visits_visit_second", "second_staff_id", "starts_at", "id"),
        Index("ix_home_visits_visit_contact", "contact_id", "starts_at", "id"),
        Index("ix_home_visits_visit_school", "school_id", "starts_at", "id"),
        Index("ix_home_visits_visit_state_school", "state", "school_id", "starts_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Grows with every save; a stale form is refused instead of overwriting (optimistic locking).
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: Calendar SEQUENCE: grows by one with each change a calendar shows (time, place, staff, status).
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: One of :data:`home_visits.workflow.STATES`.
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="draft")
    #: The school the visit belongs to (:mod:`home_visits.schools`): its policy, office and people.
    school_id: Mapped[str] = mapped_column(String(32), nullable=False, default="school")

    #: The pupil's name or the host's reference, as staff typed it. Never in titles, emails or logs.
    pupil: Mapped[str] = mapped_column(String(120), nullable=False)
    #: Initials derived from ``pupil``, safe for calendar titles and emails.
    pupil_initials: Mapped[str] = mapped_column(String(12), nullable=False, default="")
    #: ``pupil`` as a subject-access search matches it (:func:`.text.search_key`): "zoë ünal" finds "Zoë Ünal".
    pupil_key: Mapped[str] = mapped_column(String(120), nullable=False, default="", index=True)
    #: The school's own reference for the pupil (UPN, MIS id), when staff give one.
    pupil_ref: Mapped[str] = mapped_column(String(40), nullable=False, default="", index=True)
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

    #: People's permanent ids from the host's directory (``HOME_VISITS_USER_ID_ATTR``).
    lead_id: Mapped[PersonId]
    second_staff_id: Mapped[str | None] = mapped_column(String(64))
    #: Why the lead goes alone when there is no second member of staff.
    alone_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    contact_id: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str] = mapped_column(String(40), nullable=False, default="")

    #: ``yes`` / ``no`` / ``not_asked``: did the family agree to the visit.
    family_agreed: Mapped[str] = mapped_column(String(12), nullable=False, default="")
    #: How the appointment was made (phone, letter, in person, unannounced).
    appointment: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    #: Why the visit is unannounced, when it is.
    unannounced_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
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

    #: The approver's reason when a plan is declined or sent back for changes.
    decline_reason: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    authorised_by: Mapped[str | None] = mapped_column(String(64))
    authorised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: When the visiting staff checked out at the door, and back in ("closed off").
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why the expected return was last extended, shown to the office.
    extension_reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    #: An incident (aggression, threats, an accident) was reported on the visit record.
    incident: Mapped[bool] = mapped_column(default=False, nullable=False)
    #: A responder said "I'm handling this": no further escalation tiers fire.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))

    created_at: Mapped[When]
    updated_at: Mapped[When]
    #: The one-time token of the "New plan" form that created this draft: a second POST of the same
    #: form finds this draft instead of making another.
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True)

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
    at: Mapped[When]
    #: Host user id of whoever acted.
    actor_id: Mapped[PersonId]
    #: What happened: ``created``, ``edited``, ``submitted``, ``authorised``, ...
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    #: Which plan fields changed, for ``edited`` entries.
    changes: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: The visit's version the change started from (``edited`` entries): what changed since a version.
    visit_version: Mapped[int | None] = mapped_column(Integer)

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
    created_at: Mapped[When]
    #: Set when revoked; a revoked token answers 404.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChangeMarker(Base):
    """One row that moves whenever any visit changes: feeds compare it to answer 304 cheaply,
    and it holds across processes and machines because it lives in the database."""

    __tablename__ = "home_visits_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Grows by one with every change to any visit.
    counter: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    changed_at: Mapped[When]


class AuditImmutable(Exception):
    """Raised on any attempt to change or remove an audit row through the ORM."""


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _append_only(_mapper: Any, _connection: Any, target: AuditEntry) -> None:
    raise AuditImmutable(f"audit entry {target.id} is append-only: it cannot be changed or deleted")


class Delivery:
    """Columns of anything the plugin emails and retries: claimed atomically by one sender at a time."""

    #: ``pending``, ``sending`` (claimed), ``sent``, ``failed`` (retried), ``stopped``.
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Alert(Delivery, Base):
    """One escalation email for one visit: once per tier per visit, ever, however many sweeps run at once."""

    __tablename__ = "home_visits_alert"
    __table_args__ = (
        UniqueConstraint("visit_id", "key", name="uq_home_visits_alert_visit_key"),
        Index("ix_home_visits_alert_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("home_visits_visit.id"), nullable=False)
    #: ``tier-<n>``, ``not-checked-out``, ``end-of-day``, ``manual-<n>``, ``incident-<n>``, ``incident`` (record).
    key: Mapped[str] = mapped_column(String(40), nullable=False)
    #: Policy recipient kinds (``responsible_contact``, ``office``, ...).
    notify: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    #: Who raised it by hand ("alert the office now", an incident); empty for the sweep's own alerts.
    raised_by: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    due_at: Mapped[When]
    #: For an incident reported at the moment, its kind (``aggression``, ``injury``...).
    detail: Mapped[str] = mapped_column(String(40), nullable=False, default="", server_default="")
    #: An alarm raised by a person stays open on the dashboard until someone says they are handling it.
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by: Mapped[str | None] = mapped_column(String(64))
    #: How many times an alarm was pressed while it stayed open, and when last (``due_at``: the first).
    taps: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    tapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notice(Delivery, Base):
    """A plan email (submitted, decided, sent back, reminder, digest), composed when queued and
    sent once: the unique key makes a reminder once per plan per day, a digest once per day."""

    __tablename__ = "home_visits_notice"
    __table_args__ = (Index("ix_home_visits_notice_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    #: The visit it is about (none for the morning digest).
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("home_visits_visit.id"), index=True)
    to: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    html: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[When]


class NoticeMention(Base):
    """A visit a notice about several visits (the office's morning digest) names, with the lines
    about it: purged with the visit (the notice goes too), and part of the pupil's export."""

    __tablename__ = "home_visits_notice_mention"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("home_visits_notice.id"), nullable=False, index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("home_visits_visit.id"), nullable=False, index=True)
    #: What the notice says about this visit.
    text: Mapped[str] = mapped_column(Text, nullable=False)


class Preference(Base):
    """A person's own choices. Safety emails ignore them: those cannot be turned off."""

    __tablename__ = "home_visits_preference"

    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Emails about plans: submitted, authorised or declined, sent back, reminders, the digest.
    plan_emails: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class JobRun(Base):
    """When each scheduled command last ran, so the dashboard can warn if cron has stopped."""

    __tablename__ = "home_visits_job"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_at: Mapped[When]
    #: What the last run did, in a few words.
    summary: Mapped[str] = mapped_column(String(200), nullable=False, default="")


class VisitRecord(Base):
    """What happened on a visit, written by the lead afterwards. Locked once submitted:
    corrections are appended (:class:`RecordCorrection`), the original stays as written."""

    __tablename__ = "home_visits_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("home_visits_visit.id"), nullable=False, unique=True)
    #: Grows with every save; a stale form is refused.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    author_id: Mapped[PersonId]
    #: ``took_place``, ``no_answer``, ``family_declined`` or ``doorstep_only``.
    outcome: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    #: ``inside`` or ``doorstep``.
    setting: Mapped[str] = mapped_column(String(10), nullable=False, default="")
    #: When the visit actually started and ended, aware UTC.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Everyone present: ``[{"name", "relationship", "agreed"}]``; ``agreed`` is whether the family
    #: agreed to talk in front of them.
    present: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    points: Mapped[str] = mapped_column(Text, nullable=False, default="")
    child_voice: Mapped[str] = mapped_column(Text, nullable=False, default="")
    parents_views: Mapped[str] = mapped_column(Text, nullable=False, default="")
    agreements: Mapped[str] = mapped_column(Text, nullable=False, default="")
    concerns: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Each observation marked fact or opinion: ``[{"kind": "fact"|"opinion", "text"}]``.
    observations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    #: ``raised`` (on the safeguarding system), ``not_needed``, or empty.
    safeguarding: Mapped[str] = mapped_column(String(12), nullable=False, default="")
    #: Where it was raised, e.g. CPOMS; or, beside a written concern, why it is not a safeguarding matter.
    safeguarding_where: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    safeguarding_why: Mapped[str] = mapped_column(String(200), nullable=False, default="", server_default="")
    #: Incident kinds ticked (``aggression``, ``threats``, ``accident``) and what happened.
    incident_kinds: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    incident_details: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: The author's private reflection: shown to the author only, never copied to CPOMS.
    reflection: Mapped[str] = mapped_column(Text, nullable=False, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The second member of staff's confirmation and comment.
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmation: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[When]
    updated_at: Mapped[When]

    actions: Mapped[list[RecordAction]] = relationship(
        back_populates="record", order_by="RecordAction.id", cascade="all, delete-orphan"
    )
    corrections: Mapped[list[RecordCorrection]] = relationship(order_by="RecordCorrection.id")

    __mapper_args__ = {"version_id_col": version}


class RecordAction(Base):
    """Something someone agreed to do, with an owner and a due date; open until marked done."""

    __tablename__ = "home_visits_action"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("home_visits_record.id"), nullable=False, index=True)
    what: Mapped[str] = mapped_column(String(500), nullable=False)
    #: Who does it, in words (a member of staff, "Parent", "EWO").
    owner: Mapped[str] = mapped_column(String(120), nullable=False)
    due: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(64))

    record: Mapped[VisitRecord] = relationship(back_populates="actions")


class RecordCorrection(Base):
    """A correction appended to a submitted record: what, why, who and when."""

    __tablename__ = "home_visits_correction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("home_visits_record.id"), nullable=False, index=True)
    #: The record field the correction is about.
    field: Mapped[str] = mapped_column(String(40), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    by: Mapped[PersonId]
    at: Mapped[When]


class AccessEntry(Base):
    """Who opened a visit record (or copied or exported it), and when; approvers can see this."""

    __tablename__ = "home_visits_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("home_visits_visit.id"), nullable=False, index=True)
    person_id: Mapped[PersonId]
    #: ``opened``, ``copied`` (for CPOMS) or ``exported``.
    what: Mapped[str] = mapped_column(String(20), nullable=False)
    at: Mapped[When]


class PurgeEntry(Base):
    """A retention purge: how many visits went and when, never what they were."""

    __tablename__ = "home_visits_purge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[When]
    #: Visits that started before this were due to go.
    cutoff: Mapped[When]
    visits: Mapped[int] = mapped_column(Integer, nullable=False)
