"""The plugin's one blueprint: every URL rule (endpoint names are the public contract), its error pages and
its templates' globals (:mod:`.menu`). The views live in each domain's ``views.py``; the visit page, which
shows several domains, in :mod:`.visit`."""

from collections.abc import Callable
from typing import Any

from flask import Blueprint, redirect, request, url_for
from werkzeug.routing import IntegerConverter

from ..calendar import views as calendar_views
from ..handbook import views as handbook
from ..mail import views as mail_views
from ..plans import part_views
from ..plans import views as plan_views
from ..records import views as record_views
from ..reports import views as report_views
from ..safety import views as safety_views
from ..web import errors
from ..web.context import current_person
from . import visit
from .menu import template_globals

BOTH = ["GET", "POST"]


class IdConverter(IntegerConverter):
    """``<id:visit_id>``: a row id of at most 10 digits. Longer matches no rule (404) before anything
    parses it: ``int()`` refuses strings over 4,300 digits with a ValueError, which was a 500."""

    regex = r"\d{1,10}"


def form_post(view: Callable[..., Any], back_to: str = "home_visits.visit") -> Callable[..., Any]:
    """A POST URL whose form lives on another page: a GET of it (a reload, Enter in the address bar after
    an error answered at this address) is redirected to that page (POST-redirect-GET), never a 405.
    ``back_to`` is an endpoint taking the same ``visit_id``, or one taking no arguments."""

    def answer(**kwargs: Any) -> Any:
        if request.method == "GET":
            current_person()  # strangers and people with no role get their 401 or 403, as on the POST
            where = {k: v for k, v in kwargs.items() if k == "visit_id"}
            return redirect(url_for(back_to, **where), code=303)
        return view(**kwargs)

    answer.__name__ = answer.__qualname__ = view.__name__
    answer.__doc__ = view.__doc__
    return answer


blueprint = Blueprint("home_visits", "home_visits", template_folder="templates", static_folder="static")
# Before the rules below, which use it (a blueprint registers its recorded functions in order).
blueprint.record_once(lambda setup: setup.app.url_map.converters.setdefault("id", IdConverter))

blueprint.add_url_rule("/", "my_visits", plan_views.my_visits)
blueprint.add_url_rule("/new", "new_plan", plan_views.new_plan, methods=["GET", "POST"])
blueprint.add_url_rule("/new/parts", "new_tasks", part_views.new_tasks)
blueprint.add_url_rule("/new/parts/<part_id>", "new_part", part_views.new_part, methods=BOTH)
blueprint.add_url_rule("/<id:visit_id>/parts", "tasks", part_views.tasks)
blueprint.add_url_rule("/<id:visit_id>/parts/<part_id>", "part_page", part_views.part_page, methods=BOTH)
blueprint.add_url_rule("/<id:visit_id>", "visit", visit.visit_page)
blueprint.add_url_rule("/<id:visit_id>/edit", "edit_plan", plan_views.edit_plan, methods=["GET", "POST"])
blueprint.add_url_rule("/<id:visit_id>/check", "check_answers", plan_views.check_answers, methods=BOTH)
blueprint.add_url_rule("/<id:visit_id>/decide", "decide", form_post(plan_views.decide), methods=BOTH)
blueprint.add_url_rule("/<id:visit_id>/cancel", "cancel_visit", plan_views.cancel_visit, methods=BOTH)
blueprint.add_url_rule("/approvals", "approvals", plan_views.approvals)
blueprint.add_url_rule("/calendar/", "subscribe", calendar_views.subscribe, methods=["GET", "POST"])
blueprint.add_url_rule("/calendar/<token>.ics", "feed", calendar_views.feed)
blueprint.add_url_rule("/<id:visit_id>/check-out", "check_out", form_post(safety_views.check_out), methods=BOTH)
blueprint.add_url_rule("/<id:visit_id>/check-in", "check_in", form_post(safety_views.check_in), methods=BOTH)
blueprint.add_url_rule("/<id:visit_id>/extend", "extend", form_post(safety_views.extend), methods=BOTH)
blueprint.add_url_rule("/<id:visit_id>/acknowledge", "acknowledge", form_post(safety_views.acknowledge), methods=BOTH)
blueprint.add_url_rule("/<id:visit_id>/alert", "alert_now", form_post(safety_views.alert_now), methods=BOTH)
blueprint.add_url_rule("/<id:visit_id>/incident", "report_incident", form_post(safety_views.report_incident),
                       methods=BOTH)
blueprint.add_url_rule("/<id:visit_id>/not-going-ahead", "not_going_ahead",
                       form_post(safety_views.not_going_ahead), methods=BOTH)
blueprint.add_url_rule("/dashboard", "dashboard", safety_views.dashboard)
blueprint.add_url_rule("/dashboard/test-alert", "test_alert", safety_views.test_alert, methods=["POST"])

blueprint.add_url_rule("/<id:visit_id>/record", "record", record_views.record_page, methods=["GET", "POST"])
blueprint.add_url_rule("/<id:visit_id>/record/correct", "correct_record",
                       form_post(record_views.correct, "home_visits.record"), methods=BOTH)
blueprint.add_url_rule("/<id:visit_id>/record/confirm", "confirm_record",
                       form_post(record_views.confirm, "home_visits.record"), methods=BOTH)
blueprint.add_url_rule("/<id:visit_id>/record/cpoms", "cpoms_copy", record_views.cpoms_copy)
blueprint.add_url_rule("/actions/<id:action_id>/done", "action_done",
                       form_post(record_views.action_done, "home_visits.my_visits"), methods=BOTH)
blueprint.add_url_rule("/reports", "reports", report_views.report_page)
blueprint.add_url_rule("/reports.csv", "reports_csv", report_views.report_csv)
blueprint.add_url_rule("/<id:visit_id>/card", "visit_card", safety_views.visit_card)
blueprint.add_url_rule("/handbook/", "handbook", handbook.handbook, defaults={"path": ""})
blueprint.add_url_rule("/handbook/<path:path>", "handbook", handbook.handbook)
blueprint.add_url_rule("/settings", "settings", mail_views.settings, methods=["GET", "POST"])

blueprint.context_processor(template_globals)
blueprint.register_error_handler(errors.FormErrors, visit.show_form_errors)
# By code, so that they come before any handler the host registered for the same code on the app.
for _code in errors.HELP:
    blueprint.register_error_handler(_code, errors.render_error)
