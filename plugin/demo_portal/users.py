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
    """Fictional staff of a small trust (``app.SCHOOLS``). At Exampleton Primary, the first school: two
    teachers, a headteacher who authorises and the office, whose plain role names (``staff``) a trust
    gives at its first school. At Ash Hill Academy: two teachers, the headteacher and the office, with
    roles named for their school (``ash:staff``). Across the trust: an attendance officer who plans
    visits at Exampleton Primary and Ash Hill, and the safeguarding lead, who authorises and sees every
    visit at all three schools (Elm Road Infants has no accounts of its own here)."""
    people = [
        ("sam", "Sam Patel", "sam.patel@school.example", "07700 900101", ("staff",)),
        ("jo", "Jo Jones", "jo.jones@school.example", "07700 900102", ("staff",)),
        ("alex", "Alex Morgan (Headteacher)", "alex.morgan@school.example", "07700 900103", ("staff", "approver")),
        ("office", "School Office", "office@school.example", "01632 960000", ("office",)),
        ("priya", "Priya Shah", "priya.shah@ash-hill.example", "07700 900201", ("ash:staff",)),
        ("lee", "Lee Chen", "lee.chen@ash-hill.example", "07700 900202", ("ash:staff",)),
        ("kim", "Kim Evans (Headteacher)", "kim.evans@ash-hill.example", "07700 900203",
         ("ash:staff", "ash:approver")),
        ("ash-office", "Ash Hill Office", "office@ash-hill.example", "01632 960200", ("ash:office",)),
        ("rowan", "Rowan Hughes (Attendance officer)", "rowan.hughes@trust.example", "07700 900301",
         ("oak:staff", "ash:staff")),
        ("dana", "Dana Okafor (Safeguarding lead)", "dana.okafor@trust.example", "07700 900302",
         ("trust:approver", "trust:office", "trust:dsl")),
    ]
    digest = generate_password_hash(DEMO_PASSWORD)
    return {uid: User(uid, name, email, phone, roles, digest) for uid, name, email, phone, roles in people}
