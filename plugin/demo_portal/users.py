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
    """Fictional staff of a small trust (``app.SCHOOLS``). At Exampleton Primary, the first school: teachers,
    a learning mentor, an attendance lead, a headteacher who authorises and the office, with the plain role
    names (``staff``) a trust gives at its first school. At Ash Hill Academy and Elm Road Infants: their own
    staff, headteacher and office, with roles named for their school (``ash:staff``, ``elm:approver``).
    Across the trust: an attendance officer who plans visits at Exampleton Primary and Ash Hill, and the
    safeguarding lead, who authorises and sees every visit at all three schools. Each school has enough
    people who go out that nobody in the seeded visits is in two places at once."""
    people = [
        ("sam", "Sam Patel", "sam.patel@school.example", "07700 900101", ("staff",)),
        ("jo", "Jo Jones", "jo.jones@school.example", "07700 900102", ("staff",)),
        ("alex", "Alex Morgan (Headteacher)", "alex.morgan@school.example", "07700 900103", ("staff", "approver")),
        ("office", "School Office", "office@school.example", "01632 960000", ("office",)),
        ("mo", "Mo Ahmed (Learning mentor)", "mo.ahmed@school.example", "07700 900104", ("staff",)),
        ("ellis", "Ellis Brown (Attendance lead)", "ellis.brown@school.example", "07700 900105", ("staff",)),
        ("priya", "Priya Shah", "priya.shah@ash-hill.example", "07700 900201", ("ash:staff",)),
        ("lee", "Lee Chen", "lee.chen@ash-hill.example", "07700 900202", ("ash:staff",)),
        ("kim", "Kim Evans (Headteacher)", "kim.evans@ash-hill.example", "07700 900203",
         ("ash:staff", "ash:approver")),
        ("ash-office", "Ash Hill Office", "office@ash-hill.example", "01632 960200", ("ash:office",)),
        ("tara", "Tara Singh (Attendance lead)", "tara.singh@ash-hill.example", "07700 900204", ("ash:staff",)),
        ("ben", "Ben Cole (SENCO)", "ben.cole@ash-hill.example", "07700 900205", ("ash:staff",)),
        ("nia", "Nia Roberts", "nia.roberts@elm-road.example", "07700 900401", ("elm:staff",)),
        ("theo", "Theo Grant (Family support worker)", "theo.grant@elm-road.example", "07700 900402",
         ("elm:staff",)),
        ("ola", "Ola Mensah", "ola.mensah@elm-road.example", "07700 900403", ("elm:staff",)),
        ("cam", "Cam Fraser (Pastoral lead)", "cam.fraser@elm-road.example", "07700 900404", ("elm:staff",)),
        ("ruth", "Ruth Adeyemi (Headteacher)", "ruth.adeyemi@elm-road.example", "07700 900405",
         ("elm:staff", "elm:approver")),
        ("elm-office", "Elm Road Office", "office@elm-road.example", "01632 960300", ("elm:office",)),
        ("rowan", "Rowan Hughes (Attendance officer)", "rowan.hughes@trust.example", "07700 900301",
         ("oak:staff", "ash:staff")),
        ("dana", "Dana Okafor (Safeguarding lead)", "dana.okafor@trust.example", "07700 900302",
         ("trust:approver", "trust:office", "trust:dsl")),
    ]
    digest = generate_password_hash(DEMO_PASSWORD)
    return {uid: User(uid, name, email, phone, roles, digest) for uid, name, email, phone, roles in people}
