"""The plugin's one blueprint: every URL rule (endpoint names are the public contract), its error pages and
its templates' globals. The views live in each domain's ``views.py``."""

from flask import Blueprint
from werkzeug.routing import IntegerConverter

from ..calendar import views as calendar_views
from ..mail import views as mail_views
from ..plans import views as plan_views
from ..records import views as record_views
from ..reports import views as report_views
from ..safety import views as safety_views
from . import errors, handbook
from .context import template_globals


class IdConverter(IntegerConverter):
    """``<id:visit_id>``: a row id of at most 10 digits. Longer matches no rule (404) before anything
    parses it: ``int()`` refuses strings over 4,300 digits with a ValueError, which was a 500."""

    regex = r"\d{1,10}"


blueprint = Blueprint("home_visits", "home_visits", template_folder="templates", static_folder="static")
# Before the rules below, which use it (a blueprint registers its recorded functions in order).
blueprint.record_once(lambda setup: setup.app.url_map.converters.setdefault("id", IdConverter))

blueprint.add_url_rule("/", "my_visits", plan_views.my_visits)
blueprint.add_url_rule("/new", "new_plan", plan_views.new_plan, methods=["GET", "POST"])
blueprint.add_url_rule("/<id:visit_id>", "visit", plan_views.visit_page)
blueprint.add_url_rule("/<id:visit_id>/edit", "edit_plan", plan_views.edit_plan, methods=["GET", "POST"])
blueprint.add_url_rule("/<id:visit_id>/decide", "decide", plan_views.decide, methods=["POST"])
blueprint.add_url_rule("/approvals", "approvals", plan_views.approvals)
blueprint.add_url_rule("/calendar/", "subscribe", calendar_views.subscribe, methods=["GET", "POST"])
blueprint.add_url_rule("/calendar/<token>.ics", "feed", calendar_views.feed)
blueprint.add_url_rule("/<id:visit_id>/check-out", "check_out", safety_views.check_out, methods=["POST"])
blueprint.add_url_rule("/<id:visit_id>/check-in", "check_in", safety_views.check_in, methods=["POST"])
blueprint.add_url_rule("/<id:visit_id>/extend", "extend", safety_views.extend, methods=["POST"])
blueprint.add_url_rule("/<id:visit_id>/acknowledge", "acknowledge", safety_views.acknowledge, methods=["POST"])
blueprint.add_url_rule("/<id:visit_id>/alert", "alert_now", safety_views.alert_now, methods=["POST"])
blueprint.add_url_rule("/<id:visit_id>/incident", "report_incident", safety_views.report_incident, methods=["POST"])
blueprint.add_url_rule("/<id:visit_id>/not-going-ahead", "not_going_ahead", safety_views.not_going_ahead,
                       methods=["POST"])
blueprint.add_url_rule("/dashboard", "dashboard", safety_views.dashboard)

blueprint.add_url_rule("/<id:visit_id>/record", "record", record_views.record_page, methods=["GET", "POST"])
blueprint.add_url_rule("/<id:visit_id>/record/correct", "correct_record", record_views.correct, methods=["POST"])
blueprint.add_url_rule("/<id:visit_id>/record/confirm", "confirm_record", record_views.confirm, methods=["POST"])
blueprint.add_url_rule("/<id:visit_id>/record/cpoms", "cpoms_copy", record_views.cpoms_copy)
blueprint.add_url_rule("/actions/<id:action_id>/done", "action_done", record_views.action_done, methods=["POST"])
blueprint.add_url_rule("/reports", "reports", report_views.report_page)
blueprint.add_url_rule("/reports.csv", "reports_csv", report_views.report_csv)
blueprint.add_url_rule("/<id:visit_id>/card", "visit_card", safety_views.visit_card)
blueprint.add_url_rule("/handbook/", "handbook", handbook.handbook, defaults={"path": ""})
blueprint.add_url_rule("/handbook/<path:path>", "handbook", handbook.handbook)
blueprint.add_url_rule("/settings", "settings", mail_views.settings, methods=["GET", "POST"])

blueprint.context_processor(template_globals)
# By code, so that they come before any handler the host registered for the same code on the app.
for _code in errors.HELP:
    blueprint.register_error_handler(_code, errors.render_error)
