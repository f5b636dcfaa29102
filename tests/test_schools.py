"""A trust's schools as a member of staff meets them: each school's policy, its visits seen only by its own
people (404 for another school's), and the plan form asking which school a visit is for."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from home_visits.extension import state
from home_visits.models import Visit

from .conftest import form_data, valid_plan
from .trust import make_trust_app, signed_in, visit_factory


def test_each_school_has_its_own_policy_and_visits_and_a_stranger_school_gets_404(tmp_path: Path) -> None:
    app = make_trust_app(tmp_path / "instance")
    st = state(app)
    assert [s.id for s in st.schools] == ["north", "south"]
    assert (st.policy_for("north").rules.grace_minutes, st.policy_for("south").rules.grace_minutes) == (10, 30)
    assert st.policy_for("north").school.name == "North Primary"
    make = visit_factory(app)
    north, south = make("north"), make("south")
    assert signed_in(app, "noor").get(f"/home-visits/{north.id}").status_code == 200
    assert signed_in(app, "noor").get(f"/home-visits/{south.id}").status_code == 404
    assert signed_in(app, "nell").get(f"/home-visits/{south.id}/card").status_code == 404
    page = signed_in(app, "tom").get(f"/home-visits/{south.id}")
    assert page.status_code == 200 and "South Academy" in page.get_data(as_text=True)


def test_the_plan_form_asks_which_school_only_of_those_who_plan_at_several(tmp_path: Path) -> None:
    app = make_trust_app(tmp_path / "instance")
    asked = signed_in(app, "tara").get("/home-visits/new").get_data(as_text=True)
    assert "Which school is this visit for?" in asked and "North Primary" in asked and "South Academy" in asked
    form = signed_in(app, "nina").get("/home-visits/new")
    assert form.status_code == 200 and "For <strong>North Primary</strong>" in form.get_data(as_text=True)
    assert signed_in(app, "nina").get("/home-visits/new?school=south").status_code == 404
    assert signed_in(app, "noor").get("/home-visits/new").status_code == 403  # approves, does not plan


def test_the_plan_form_offers_only_people_of_the_visits_school_or_the_trust(tmp_path: Path) -> None:
    app = make_trust_app(tmp_path / "instance")
    nina = signed_in(app, "nina")
    form = nina.get("/home-visits/new").get_data(as_text=True)
    for offered in ("Ned North", "Nell North", "Noor North", "Tara Trust", "Tom Trust"):
        assert f">{offered}</option>" in form, offered
    for stranger in ("Sol South", "Sid South", "Sky South", "Sue South"):
        assert stranger not in form, stranger
    posted = nina.post("/home-visits/new", data=form_data(valid_plan(lead_id="nina", second_staff_id="sol",
                                                                      contact_id="nell"), save="Save draft"))
    assert posted.status_code == 422 and "Not a valid choice" in posted.get_data(as_text=True)
    with state(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 0  # nothing half-saved
