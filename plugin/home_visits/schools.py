"""The schools a portal serves: one, or a trust's many (``HOME_VISITS_SCHOOLS``).

Every visit belongs to one school, by its id. A portal with no ``HOME_VISITS_SCHOOLS`` is one school,
:data:`ONE_SCHOOL`, whose policy is ``HOME_VISITS_POLICY``. A trust lists its schools; each has its own
policy file (which may ``extends: trust``, the trust's file in ``HOME_VISITS_POLICY``), and may name its
office's and its out-of-hours contact's email addresses. Pure: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .policy import DEFAULT_POLICY, Policy, cached_policy
from .policy.loader import StartupError, report_briefly

#: The id of the one school of a portal with no ``HOME_VISITS_SCHOOLS``; visits stored before schools
#: existed belong to the first school listed (the migration moves them there).
ONE_SCHOOL = "school"
#: The prefix of a trust-wide role in a directory's role names (``trust:approver``): that role at every school.
TRUST = "trust"

_ID = r"^[a-z0-9][a-z0-9-]{0,31}$"
_EMAIL = r"^[^@\s]+@[^@\s]+$"


class SchoolsError(StartupError):
    """``HOME_VISITS_SCHOOLS`` cannot be used; ``str()`` names the entry, the key and the problem. Uncaught
    at start-up it ends the process with that one line (the traceback only with ``--debug``)."""

    what = "the schools setting"


class _Entry(BaseModel):
    """One school as ``HOME_VISITS_SCHOOLS`` gives it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: Annotated[str, Field(pattern=_ID)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    short: Annotated[str, Field(min_length=1, max_length=24)] | None = None
    policy: str | None = None
    office_email: Annotated[str, Field(pattern=_EMAIL, max_length=254)] | None = None
    out_of_hours_email: Annotated[str, Field(pattern=_EMAIL, max_length=254)] | None = None


@dataclass(frozen=True)
class School:
    """One school: ``id`` (stored on its visits, and the prefix of its roles: ``north:approver``),
    ``name``, ``short`` (before event titles when a feed holds more than one school), its ``policy``,
    and where its office's and out-of-hours alerts go (``""``: the config-wide or role-based default)."""

    id: str
    name: str
    short: str
    policy: Policy
    office_email: str = ""
    out_of_hours_email: str = ""
    #: The file its policy is read from (``None``: the shipped policy) and the trust's file that one
    #: extends (``None`` unless the school has a file of its own): what its handbook is built from.
    policy_file: str | None = None
    trust_file: str | None = None


class Schools(Sequence[School]):
    """The portal's schools in configured order; the first takes visits stored before schools existed
    and, in a trust, plain role names without a school (``approver``)."""

    def __init__(self, schools: Sequence[School], *, trust_policy: Policy, trust: bool) -> None:
        if not schools:
            raise SchoolsError("HOME_VISITS_SCHOOLS: name at least one school")
        self._list = tuple(schools)
        self._by_id = {school.id: school for school in self._list}
        #: The trust's policy (``HOME_VISITS_POLICY``): the first school's when there is one school.
        self.trust_policy = trust_policy
        #: ``True`` when ``HOME_VISITS_SCHOOLS`` is set, even with one school in it.
        self.trust = trust

    def __getitem__(self, index: Any) -> Any:
        return self._list[index]

    def __len__(self) -> int:
        return len(self._list)

    def __iter__(self) -> Iterator[School]:
        return iter(self._list)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    @property
    def first(self) -> School:
        return self._list[0]

    def every(self, school_ids: Collection[str]) -> bool:
        """Whether ``school_ids`` are all the portal's schools (so a query needs no school filter)."""
        return set(school_ids) >= set(self._by_id)

    def get(self, school_id: str | None) -> School | None:
        return self._by_id.get(school_id or "")

    def of(self, school_id: str) -> School:
        """The school with ``school_id``; :class:`KeyError` naming it when the portal has none such."""
        try:
            return self._by_id[school_id]
        except KeyError:
            raise KeyError(f"no school {school_id!r} is configured (HOME_VISITS_SCHOOLS)") from None

    def policy(self, school_id: str) -> Policy:
        return self.of(school_id).policy


def load_schools(entries: Sequence[Mapping[str, Any]] | None, *, policy: str | None,
                 out_of_hours_email: str | None = None) -> Schools:
    """The schools ``HOME_VISITS_SCHOOLS`` names (``entries``), or the one school when it is ``None``.

    ``policy`` is ``HOME_VISITS_POLICY``: the one school's policy, or in a trust the trust's, which a
    school's own file may extend and which a school with no file of its own follows.
    ``out_of_hours_email`` (``HOME_VISITS_OUT_OF_HOURS_EMAIL``) is every school's unless it names its own.
    Raises :class:`SchoolsError` (or the policy's :class:`~.policy.PolicyError`) naming what is wrong.
    """
    try:
        return _load_schools(entries, policy=policy, out_of_hours_email=out_of_hours_email)
    except SchoolsError:
        report_briefly()
        raise


def _load_schools(entries: Sequence[Mapping[str, Any]] | None, *, policy: str | None,
                  out_of_hours_email: str | None) -> Schools:
    if entries is None:
        trust_policy = cached_policy(policy)
        one = School(ONE_SCHOOL, trust_policy.school.name, trust_policy.school.name, trust_policy,
                     out_of_hours_email=out_of_hours_email or "", policy_file=policy or None)
        return Schools([one], trust_policy=trust_policy, trust=False)
    if isinstance(entries, (str, bytes, Mapping)) or not isinstance(entries, Sequence):
        raise SchoolsError("HOME_VISITS_SCHOOLS must be a list of schools, each a mapping with an id and a name")
    # The trust's file may not extend itself; a school's may extend it (the shipped policy when it is unset).
    trust = policy or DEFAULT_POLICY
    trust_policy = cached_policy(policy, trust=policy) if policy else cached_policy(None)
    schools: list[School] = []
    for index, raw in enumerate(entries):
        entry = _entry(index, raw)
        if any(school.id == entry.id for school in schools):
            raise SchoolsError(f"HOME_VISITS_SCHOOLS[{index}].id: {entry.id!r} is listed twice")
        if entry.id == TRUST:
            raise SchoolsError(f"HOME_VISITS_SCHOOLS[{index}].id: 'trust' names trust-wide roles; pick another id")
        own = cached_policy(entry.policy, trust=trust, name=entry.name) if entry.policy else (
            cached_policy(policy, name=entry.name))
        schools.append(School(entry.id, entry.name, entry.short or entry.name, own,
                              office_email=entry.office_email or "",
                              out_of_hours_email=entry.out_of_hours_email or out_of_hours_email or "",
                              policy_file=entry.policy or policy or None,
                              trust_file=(policy or None) if entry.policy else None))
    return Schools(schools, trust_policy=trust_policy, trust=True)


#: Friendlier words for what pydantic says about an entry's keys.
_PROBLEMS = {
    ("id", "string_pattern_mismatch"): "use up to 32 lower-case letters, digits and hyphens, starting with "
                                       "a letter or digit (it is stored on every visit and prefixes roles)",
    ("office_email", "string_pattern_mismatch"): "not an email address",
    ("out_of_hours_email", "string_pattern_mismatch"): "not an email address",
}


def _entry(index: int, raw: Any) -> _Entry:
    if not isinstance(raw, Mapping):
        raise SchoolsError(f"HOME_VISITS_SCHOOLS[{index}]: each school is a mapping with an id and a name")
    try:
        return _Entry.model_validate(dict(raw))
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "(the entry)"
        problem = "unknown key" if error["type"] == "extra_forbidden" else (
            _PROBLEMS.get((key, error["type"]), error["msg"]))
        raise SchoolsError(f"HOME_VISITS_SCHOOLS[{index}].{key}: {problem}") from None
