"""The demo portal's own users: the plugin never sees passwords, only these objects."""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

#: The password every demo account uses (printed in the README; a demo, not a real school).
DEMO_PASSWORD = "home-visits-demo"


@dataclass
class User(UserMixin):
    id: str
    name: str
    email: str
    phone: str
    roles: tuple[str, ...]
    password_hash: str

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


def demo_users() -> dict[str, User]:
    """Four fictional staff: two teachers, a headteacher who authorises, and the office."""
    people = [
        ("sam", "Sam Patel", "sam.patel@school.example", "07700 900101", ("staff",)),
        ("jo", "Jo Jones", "jo.jones@school.example", "07700 900102", ("staff",)),
        ("alex", "Alex Morgan (Headteacher)", "alex.morgan@school.example", "07700 900103", ("staff", "approver")),
        ("office", "School Office", "office@school.example", "01632 960000", ("office",)),
    ]
    digest = generate_password_hash(DEMO_PASSWORD)
    return {uid: User(uid, name, email, phone, roles, digest) for uid, name, email, phone, roles in people}
