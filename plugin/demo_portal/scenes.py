"""What the demo's seeded visits are about: each school's people in their parts, its families, and the words of
its plans and records. Every name, address and story is made up; the pupils' surnames say so (Example,
Sample, Demo, ...), and the postcodes use areas that do not exist (EX is the demo's Exampleton, AH Ash Hill,
ER Elm Road).

Pure data: :mod:`.seed` places it in time and stores it through the plugin's own services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class Cast:
    """Who plays which part at one school (demo usernames, :mod:`.users`)."""

    school: str
    #: Authorises the school's plans, and is the contact for visits outside office hours.
    head: str
    #: The responsible contact for visits in office hours.
    office: str
    #: Out now.
    out: tuple[str, str]
    #: Overdue, with an alarm raised, and so not checked out for their next visit either.
    overdue: tuple[str, str]
    #: Whoever plans the school's other visits, in turn.
    staff: tuple[str, ...]
    #: A visit starting soon whose check-out is open now (the tour's phone check-out), or none.
    soon: tuple[str, str] | None = None


CASTS = (
    Cast("oak", head="alex", office="office", out=("jo", "ellis"), overdue=("rowan", "mo"),
         staff=("sam", "jo", "mo", "ellis", "rowan"), soon=("sam", "alex")),
    Cast("ash", head="kim", office="ash-office", out=("priya", "lee"), overdue=("tara", "ben"),
         staff=("priya", "lee", "tara", "ben", "rowan")),
    Cast("elm", head="ruth", office="elm-office", out=("nia", "theo"), overdue=("ola", "cam"),
         staff=("nia", "theo", "ola", "cam")),
)

#: Each school's families: (pupil, address, postcode). Visits return to the same homes (a follow-up meets
#: the open actions of the visit before).
FAMILIES = {
    "oak": [("Riley Example", "12 Larch Close, Exampleton", "EX1 2AB"),
            ("Morgan Sample", "Flat 4, 7 Birch Road, Exampleton", "EX2 3CD"),
            ("Casey Demo", "3 Hazel Way, Exampleton", "EX3 4EF"),
            ("Ava Fictional", "28 Rowan Terrace, Exampleton", "EX4 5GH"),
            ("Noah Madeup", "9 Willow Court, Exampleton", "EX5 6JK"),
            ("Isla Pretend", "41 Aspen Drive, Exampleton", "EX6 7LM"),
            ("Leo Placeholder", "2 Poplar Mews, Exampleton", "EX7 8NP"),
            ("Zara Invented", "Flat 12, Cedar House, Exampleton", "EX8 9QR")],
    "ash": [("Ellie Example", "5 Quarry Lane, Ash Hill", "AH1 2BT"),
            ("Finn Sample", "17 Mill Street, Ash Hill", "AH2 3CW"),
            ("Maya Demo", "Flat 3, 40 Station Road, Ash Hill", "AH3 4DX"),
            ("Oscar Fictional", "8 Orchard Rise, Ash Hill", "AH4 5EY"),
            ("Ruby Madeup", "22 Bridge End, Ash Hill", "AH5 6FZ"),
            ("Arlo Pretend", "11 Chapel Row, Ash Hill", "AH6 7GA"),
            ("Iris Placeholder", "6 Meadow View, Ash Hill", "AH7 8HB"),
            ("Jude Invented", "30 Kiln Close, Ash Hill", "AH8 9JD")],
    "elm": [("Poppy Example", "14 Elm Road, Exampleton", "ER1 2KE"),
            ("Alfie Sample", "3 Beech Grove, Exampleton", "ER2 3LF"),
            ("Mia Demo", "Flat 7, Holly Court, Exampleton", "ER3 4MG"),
            ("Reggie Fictional", "19 Ivy Lane, Exampleton", "ER4 5NH"),
            ("Esme Madeup", "25 Sycamore Walk, Exampleton", "ER5 6PJ"),
            ("Otis Pretend", "1 Laurel Gardens, Exampleton", "ER6 7QL"),
            ("Nell Placeholder", "33 Thorn Avenue, Exampleton", "ER7 8RN"),
            ("Kit Invented", "10 Alder Place, Exampleton", "ER8 9SP")],
}

#: Why a visit is happening (a reason id of the policy) and what it is for, by the part it plays. Visits that
#: run outside office hours (the demo was started then) are welfare checks that cannot wait for the morning.
PURPOSES = {
    "welfare": ("first-day-absence", "Welfare check: nobody has answered the school's calls today and the DSL "
                "agreed two of us go round before the morning."),
    "absence": ("extended-absence", "Follow up last week's visit: how the new morning routine is going."),
    "lateness": ("persistent-lateness", "Talk through what makes the mornings hard and agree one change to try."),
    "contact": ("low-engagement", "Introduce ourselves and find a time that suits the family for a meeting."),
    "progress": ("share-progress", "Share the term's progress and ideas for reading together at home."),
    "invite": ("invite-to-events", "Invite the family to the parents' coffee morning and the class assembly."),
    "distress": ("signs-of-distress", "Agreed with the DSL: see how the family is after a worrying week."),
    "support": ("support-programme", "Walk to school together as part of the morning support programme."),
}

RISK_NOTES = ("The DSL has briefed us both; we keep to the doorstep unless invited in and leave if anyone is "
              "unsettled.")

DECLINED = "Please offer a meeting in school first: the family said on the phone they would rather come in."
SENT_BACK = "Add the mobile number you will ring the office on, and tick the route check before you submit."
CANCELLED = "The family came in to school instead."
DRAFT_PURPOSE = "First draft: still arranging a time with the family."


def record(kind: str, *, pupil: str, lead: str, visit_day: date) -> dict[str, Any]:
    """A visit record's fields (:class:`home_visits.records.rules.RecordData`) for one of the kinds the seed
    writes: ``inside`` (the talk took place inside the home, with a plan agreed), ``doorstep``, ``no_answer``
    and ``concern`` (a worry raised on the safeguarding system). ``lead`` is the lead's name, owning actions."""
    first = pupil.split()[0]
    carer = f"{pupil.split()[-1]} family carer (demo)"
    due = visit_day + timedelta(days=14)
    if kind == "no_answer":
        return {"outcome": "no_answer", "actions": [("Send a letter offering a meeting in school", lead, due)]}
    if kind == "doorstep":
        return {
            "outcome": "doorstep_only", "present": [{"name": carer, "relationship": "Parent", "agreed": True}],
            "points": f"Why {first} has been late most mornings, and what would help the family get out on time.",
            "parents_views": "Happy to talk, but short of time before work; prefers a phone call next time.",
            "observations": [{"kind": "fact", "text": "We spoke at the door; the parent was leaving for work."},
                             {"kind": "opinion", "text": "A phone call may reach the family more easily."}],
            "safeguarding": "not_needed",
            "actions": [("Phone the parent on Friday morning", lead, visit_day + timedelta(days=3))],
        }
    inside = {
        "outcome": "took_place", "setting": "inside",
        "present": [{"name": carer, "relationship": "Parent", "agreed": True},
                    {"name": first, "relationship": "The pupil", "agreed": True}],
        "points": f"What the mornings are like at home; {first}'s attendance this half term; the school's "
                  "breakfast club.",
        "child_voice": f"{first} would like to walk in with a friend and said Mondays feel hardest.",
        "parents_views": "Keen to try the breakfast club; worried about the cost of a new coat.",
        "agreements": "A breakfast club place from next week; the office sends the uniform grant form.",
        "observations": [{"kind": "fact", "text": "The family was expecting us and answered straight away."},
                         {"kind": "opinion", "text": "The parent seemed relieved to have a plan."}],
        "safeguarding": "not_needed",
        "reflection": "Went well; worth a short follow-up visit.",
        "actions": [("Book a breakfast club place", "School office", visit_day + timedelta(days=2)),
                    ("Check Monday attendance and ring home", lead, due)],
    }
    if kind == "concern":
        inside.update(
            concerns=f"{first} said they often look after a younger brother in the evenings until late.",
            safeguarding="raised", safeguarding_where="CPOMS, the same afternoon",
            actions=[("Talk to the family support worker about evening help", lead, due)],
        )
    return inside


#: A correction added to a submitted record: (field, the corrected text, why).
CORRECTION = ("present", "Both carers were there, not one.", "The second carer was left out by mistake.")
