"""What only the host knows about people: names, contact details, roles and the staff list.

The contract a host fulfils (the README's "Embedding" section says the same):

- :class:`Person` is a member of staff as the plugin sees them; every field is documented below.
- :class:`Directory` is three methods: ``person(user)`` for the signed-in host user, ``find(id)`` for an
  id that ``person()`` returned earlier (the plugin stores these ids on every plan, record, audit line
  and calendar link), and ``staff()`` for the people a plan can name.
- :class:`AttributeDirectory`, the default, reads attributes of the host's user objects.

In a trust (``HOME_VISITS_SCHOOLS``) a person's roles are per school: ``Person.roles`` hold at every
school (trust-wide roles) and ``Person.school_roles`` at the schools they name; :meth:`Person.at` gives
the person as one school sees them, which is what every rule about a visit is asked with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger("home_visits")

#: Roles the plugin understands: ``staff`` plan and make visits, ``approver`` authorise plans and see
#: every visit, ``office`` sees every visit and the "who is out" dashboard, ``dsl`` (the designated
#: safeguarding lead) is asked first about the plans the policy's routes name.
ROLES = ("staff", "approver", "office", "dsl")


def role_names(roles: Any) -> list[str]:
    """Role names from what a host keeps: strings, objects with a ``name`` (Flask-Security-Too's and
    Flask-AppBuilder's Role models), any iterable of them, or one space-separated string."""
    if not roles:
        return []
    if isinstance(roles, str):
        return roles.split()
    return [role if isinstance(role, str) else str(getattr(role, "name", role)) for role in roles]


@dataclass(frozen=True)
class Person:
    """A member of the host's staff as the plugin sees them.

    ``id``: the person's permanent id, stored on their plans, records, audit trail and calendar link; it
    must never change (not with a password change, not with a new email address). Given as text; other
    values are turned into text. ``name``: shown on pages, emails and calendar events. ``email``: where
    plan emails and safety alerts go (``""``: none). ``phone``: shown to the office and on the visit card
    while the person is out (``""``: none). ``roles``: any iterable of role names, kept as a frozenset; only
    :data:`ROLES` mean anything to the plugin. They hold at every school: in a one-school portal, that
    school; in a trust, they are trust-wide. ``school_roles``: in a trust, roles at particular schools,
    by school id (``{"north": {"approver"}}``), kept as sorted pairs of id and frozenset.
    """

    id: str
    name: str
    email: str = ""
    phone: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    school_roles: Mapping[str, Collection[str]] | tuple[tuple[str, frozenset[str]], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            object.__setattr__(self, "id", str(self.id))
        if not isinstance(self.roles, frozenset):
            object.__setattr__(self, "roles", frozenset(role_names(self.roles)))
        pairs = self.school_roles.items() if isinstance(self.school_roles, Mapping) else self.school_roles
        kept = tuple(sorted((str(school), frozenset(role_names(roles))) for school, roles in pairs if roles))
        object.__setattr__(self, "school_roles", kept)

    def has(self, *roles: str) -> bool:
        """Whether the person has any of ``roles`` at any school."""
        return bool(self.roles.intersection(roles)) or any(
            given.intersection(roles) for _, given in self.school_roles)  # type: ignore[union-attr]

    def has_any_role(self) -> bool:
        return bool(self.roles) or bool(self.school_roles)

    def at(self, school_id: str) -> Person:
        """The person as ``school_id`` sees them: their trust-wide roles and their roles there."""
        return _at(self, school_id) if self.school_roles else self

    def schools_with(self, roles: Collection[str], schools: Iterable[str]) -> list[str]:
        """The ids among ``schools`` where the person has any of ``roles``."""
        return [school for school in schools if self.at(school).has(*roles)]


@runtime_checkable
class Directory(Protocol):
    """The host side of the contract. Implement these to plug in any user store."""

    def person(self, user: Any) -> Person:
        """The person behind a host user object (``flask_login.current_user``)."""

    def find(self, person_id: str) -> Person | None:
        """The person with an id that :meth:`person` returned, or ``None`` if the host no longer knows them."""

    def staff(self) -> list[Person]:
        """Everyone who can be picked as a second member of staff or responsible contact."""


@lru_cache(maxsize=4096)
def _at(person: Person, school_id: str) -> Person:
    """:meth:`Person.at`, worked out once per person and school (a trust's pages ask it for every school)."""
    there = dict(person.school_roles).get(school_id, frozenset())  # type: ignore[arg-type]
    return replace(person, roles=person.roles | there, school_roles=())


#: Where the default directory looks for a phone number, in order (``us_phone_number``: Flask-Security-Too's).
PHONES = ("phone", "phone_number", "us_phone_number")


class AttributeDirectory:
    """The default directory: reads attributes of the host's user objects.

    The id is the attribute ``id_attr`` names (``HOME_VISITS_USER_ID_ATTR``, default ``id``); a user with
    no such attribute falls back to ``get_id()``, with a warning, because some hosts change ``get_id()``
    (Flask-Security-Too, on every password change). The name is the first of ``display_name``, ``name``,
    ``full_name``, ``first_name`` + ``last_name``, ``username`` and ``email`` that is set. ``email`` is read
    as it is, the phone from the first of :data:`PHONES` that is set; ``roles`` is any iterable of names or
    of objects with a ``name``.
    ``users`` lists the host's users; without it only the signed-in user is known and the staff list is empty.
    In a trust, ``schools`` lists its school ids: a role named ``north:approver`` is a role at ``north``,
    ``trust:approver`` one at every school, and a plain ``approver`` one at the first school listed (so a
    portal that becomes a trust gives nobody more than they had). See :func:`split_roles`.
    """

    def __init__(self, users: Callable[[], Iterable[Any]] | None = None, *, id_attr: str = "id",
                 schools: Sequence[str] | None = None) -> None:
        self._users = users
        self._id_attr = id_attr
        self._schools = tuple(schools or ())
        self._warned = False

    def person_id(self, user: Any) -> str:
        value = getattr(user, self._id_attr, None)
        if value is None:
            if not self._warned:
                self._warned = True
                log.warning(
                    "Home visits: the user object %s has no attribute %r, so people are known by get_id(), "
                    "which some portals change (Flask-Security-Too, on every password change), taking their "
                    "plans away from them. Set HOME_VISITS_USER_ID_ATTR to an attribute that never changes.",
                    type(user).__name__, self._id_attr,
                )
            value = user.get_id()
        return str(value)

    def person(self, user: Any) -> Person:
        everywhere, per_school = split_roles(role_names(getattr(user, "roles", None)), schools=self._schools)
        return Person(
            id=self.person_id(user),
            name=display_name(user) or self.person_id(user),
            email=str(getattr(user, "email", "") or ""),
            phone=str(next((v for a in PHONES if (v := getattr(user, a, None))), "")),
            roles=everywhere,
            school_roles=per_school,
        )

    def find(self, person_id: str) -> Person | None:
        if self._users is None:
            return None
        for user in self._users():
            if self.person_id(user) == person_id:
                person = self.person(user)
                return person if person.has_any_role() else None
        return None

    def staff(self) -> list[Person]:
        if self._users is None:
            return []
        people = (self.person(u) for u in self._users())
        return sorted((p for p in people if p.has_any_role()), key=lambda p: p.name.lower())


def display_name(user: Any) -> str:
    """The first name-like attribute that is set (empty when none is)."""
    for attr in ("display_name", "name", "full_name"):
        if value := getattr(user, attr, None):
            return str(value)
    parts = [str(getattr(user, attr, "") or "") for attr in ("first_name", "last_name")]
    if whole := " ".join(p for p in parts if p):
        return whole
    return str(getattr(user, "username", "") or getattr(user, "email", "") or "")


def split_roles(names: Iterable[str], *, schools: Sequence[str] = ()) -> tuple[frozenset[str], dict[str, set[str]]]:
    """Role names as a host keeps them -> (roles at every school, roles by school id); names the plugin
    does not know, or at schools it does not know, are left out.

    With no ``schools`` (one school) a plain name and ``trust:`` are the same. In a trust (``schools``:
    its ids, first one first) ``trust:office`` is every school's, ``north:office`` the school ``north``'s,
    and a plain ``office`` the first school's."""
    everywhere: set[str] = set()
    per_school: dict[str, set[str]] = {}
    for name in names:
        place, colon, role = name.rpartition(":")
        if role not in ROLES or (colon and not place):
            continue
        if place == "trust" or not schools and not colon:
            everywhere.add(role)
        elif place in schools or (not colon and schools):
            per_school.setdefault(place or schools[0], set()).add(role)
    return frozenset(everywhere), per_school
