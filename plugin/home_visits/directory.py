"""What only the host knows about people: names, contact details, roles and the staff list."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

#: Roles the plugin understands (``dsl``: the designated safeguarding lead, whom the policy's routes
#: can ask first about some plans).
ROLES = ("staff", "approver", "office", "dsl")


@dataclass(frozen=True)
class Person:
    """A member of the host's staff as the plugin sees them."""

    id: str
    name: str
    email: str = ""
    phone: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


@runtime_checkable
class Directory(Protocol):
    """The host side of the contract. Implement these to plug in any user store."""

    def person(self, user: Any) -> Person:
        """The person behind a host user object (``flask_login.current_user``)."""

    def find(self, person_id: str) -> Person | None:
        """A person by id, or ``None`` if the host no longer knows them."""

    def staff(self) -> list[Person]:
        """Everyone who can be picked as a second member of staff or responsible contact."""


class AttributeDirectory:
    """The default directory: reads attributes of the host's user objects.

    A user needs ``get_id()`` (Flask-Login gives it) and may have ``name`` (or ``display_name``),
    ``email``, ``phone`` and ``roles`` (an iterable of role names). ``users`` lists the host's
    users; without it only the signed-in user is known and the staff list is empty.
    """

    def __init__(self, users: Callable[[], Iterable[Any]] | None = None) -> None:
        self._users = users

    def person(self, user: Any) -> Person:
        roles = getattr(user, "roles", ()) or ()
        if isinstance(roles, str):
            roles = roles.split()
        name = getattr(user, "display_name", None) or getattr(user, "name", None)
        return Person(
            id=str(user.get_id()),
            name=str(name or user.get_id()),
            email=str(getattr(user, "email", "") or ""),
            phone=str(getattr(user, "phone", "") or ""),
            roles=frozenset(str(r) for r in roles if str(r) in ROLES),
        )

    def find(self, person_id: str) -> Person | None:
        if self._users is None:
            return None
        for user in self._users():
            if str(user.get_id()) == person_id:
                person = self.person(user)
                return person if person.roles else None
        return None

    def staff(self) -> list[Person]:
        if self._users is None:
            return []
        people = (self.person(u) for u in self._users())
        return sorted((p for p in people if p.roles), key=lambda p: p.name.lower())
