"""A plan in short pages: the task list, one page per part (Continue saves that part and checks only it),
the questions that apply decided on the server, "Check your answers" with a Change link per part."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import Visit
from home_visits.plans.parts import PARTS
from tests.conftest import Clock, file_by_parts, form_data


def visits(app) -> list[Visit]:
    with state(app).sessions() as session:
        return list(session.scalars(select(Visit)).all())


def statuses(page: str) -> dict[str, str]:
    return dict(re.findall(r'class="hv-task-name"[^>]*>([^<]+)</(?:a|span)>\s*<strong[^>]*>([^<]+)</strong>', page))


def test_a_plan_filed_part_by_part_is_submitted(app, login) -> None:
    sam = login("sam")
    page = sam.get("/home-visits/new/parts").get_data(as_text=True)
    assert statuses(page) == {"Pupil and address": "Not started", **{p.title: "Cannot start yet" for p in PARTS[1:]},
                              "Check your answers and submit": "Cannot start yet"}
    answer = file_by_parts(sam, form_data())
    assert answer.status_code == 302, answer.get_data(as_text=True)
    [visit] = visits(app)
    assert visit.state == "submitted" and visit.pupil == "Jamie Smith" and visit.second_staff_id == "jo"


def test_continue_saves_one_part_checks_only_it_and_goes_to_the_next(app, login) -> None:
    sam = login("sam")
    page = sam.get("/home-visits/new/parts/pupil").get_data(as_text=True)
    assert 'name="pupil"' in page and 'name="date"' not in page and 'name="checklist"' not in page
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)[1]
    missing = sam.post("/home-visits/new/parts/pupil", data={"form_token": token, "pupil": "Jamie Smith"})
    assert missing.status_code == 422
    assert "Enter the address you are visiting." in missing.get_data(as_text=True)
    assert visits(app) == [], "a refused first part saves nothing"
    saved = sam.post("/home-visits/new/parts/pupil", data={"form_token": token, **{
        k: v for k, v in form_data().items() if k in PARTS[0].questions}})
    assert saved.status_code == 303
    [draft] = visits(app)
    assert saved.location.endswith(f"/home-visits/{draft.id}/parts/why")
    assert draft.state == "draft" and draft.postcode == "EX1 2AB"
    again = sam.post("/home-visits/new/parts/pupil", data={"form_token": token, "pupil": "Jamie Smith"})
    assert again.status_code == 303 and len(visits(app)) == 1, "the same form posted twice makes one draft"
    listed = statuses(sam.get(f"/home-visits/{draft.id}/parts").get_data(as_text=True))
    assert listed["Pupil and address"] == "Completed" and listed["Why visit"] == "Not started"
    assert listed["Check your answers and submit"] == "Cannot start yet"
    # An old version is refused (409) and changes nothing.
    stale = sam.post(f"/home-visits/{draft.id}/parts/pupil", data={"version": "0", "pupil": "Someone Else",
                                                                   "address": "1 Road", "postcode": "EX1 2AB"})
    assert stale.status_code == 409 and visits(app)[0].pupil == "Jamie Smith"


def test_only_the_questions_that_apply_are_asked(app, login, create_visit) -> None:
    sam = login("sam")
    draft = create_visit(second_staff_id="jo")
    who = sam.get(f"/home-visits/{draft.id}/parts/who").get_data(as_text=True)
    assert 'name="second_staff_id"' in who and 'name="alone_reason"' not in who
    risk = sam.get(f"/home-visits/{draft.id}/parts/risk").get_data(as_text=True)
    assert 'name="risk_factors"' in risk and 'name="risk_notes"' not in risk
    family = sam.get(f"/home-visits/{draft.id}/parts/family").get_data(as_text=True)
    assert 'name="language"' in family and 'name="language_needs"' not in family
    assert 'name="unannounced_reason"' not in family
    why = sam.get(f"/home-visits/{draft.id}/parts/why").get_data(as_text=True)
    assert 'name="reason_other"' not in why
    # Going alone: Continue asks why (the page again, the question beside its message).
    alone = sam.post(f"/home-visits/{draft.id}/parts/who", data={
        "version": str(draft.version), "second_staff_id": "", "contact_id": "pat", "contact_phone": "01632 960000"})
    assert alone.status_code == 422
    assert 'name="alone_reason"' in alone.get_data(as_text=True)
    assert "Choose a second member of staff: this is your first visit" in alone.get_data(as_text=True)
    # Interpreter: "Yes" asks what help, "No" clears it.
    data = {k: v for k, v in form_data().items() if k in PARTS[4].questions}
    needs = sam.post(f"/home-visits/{draft.id}/parts/family", data={**data, "version": str(draft.version),
                                                                    "language": "yes"})
    assert needs.status_code == 422 and 'name="language_needs"' in needs.get_data(as_text=True)
    done = sam.post(f"/home-visits/{draft.id}/parts/family", data={
        **data, "version": str(draft.version), "language": "yes", "language_needs": "Polish: an interpreter"})
    assert done.status_code == 303 and visits(app)[0].language_needs == "Polish: an interpreter"
    # A risk ticked, the notes asked; the risk unticked later, the notes not kept.
    risky = sam.post(f"/home-visits/{draft.id}/parts/risk", data={
        "version": str(draft.version + 1), "travel": "car", "risk_factors": [state(app).policy.risk_factors[0].id]})
    assert risky.status_code == 422 and 'name="risk_notes"' in risky.get_data(as_text=True)


def test_change_from_check_your_answers_returns_there_and_problems_name_their_part(app, login, create_visit) -> None:
    sam = login("sam")
    draft = create_visit()
    check = sam.get(f"/home-visits/{draft.id}/check").get_data(as_text=True)
    change = f"/home-visits/{draft.id}/parts/when?back=check"
    assert f'href="{change}"' in check.replace("&amp;", "&")
    page = sam.get(change).get_data(as_text=True)
    data = {k: v for k, v in form_data().items() if k in PARTS[2].questions}
    back = sam.post(change, data={**data, "start_time": "10:30", "version": str(draft.version)})
    assert back.status_code == 303 and back.location.endswith(f"/home-visits/{draft.id}/check"), page
    refused = sam.post(f"/home-visits/{draft.id}/parts/before", data={"version": str(draft.version + 1)})
    assert refused.status_code == 422, "unticking what is needed is refused: that part keeps its ticks"
    assert visits(app)[0].checklist == draft.checklist
    state(app).clock = Clock(draft.starts_at + timedelta(minutes=45))  # by now the visit would have started
    check = sam.get(f"/home-visits/{draft.id}/check").get_data(as_text=True)
    assert "cannot start in the past" in check and "(When)" in check and "/parts/when?check=1" in check
    assert "Submit for authorisation" not in check


def test_a_sent_back_plan_and_a_copy_open_at_check_your_answers(app, login, create_visit) -> None:
    sam = login("sam")
    earlier = create_visit(state_="authorised")
    page = sam.get(f"/home-visits/new/parts/pupil?like={earlier.id}").get_data(as_text=True)
    assert "12 Larch Close" in page
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)[1]
    copied = sam.post(f"/home-visits/new/parts/pupil?like={earlier.id}", data={
        "form_token": token, **{k: v for k, v in form_data().items() if k in PARTS[0].questions}})
    assert copied.status_code == 303 and copied.location.endswith("/check")
    copy = max(visits(app), key=lambda v: v.id)
    assert copy.contact_id == earlier.contact_id and copy.second_staff_id == earlier.second_staff_id
