"""The plugin's URL rules, and nothing else: the views live in ``views.py`` and ``feed_views.py``."""

from flask import Blueprint

from . import feed_views, views

blueprint = Blueprint("home_visits", __name__, template_folder="templates", static_folder="static")

blueprint.add_url_rule("/", "my_visits", views.my_visits)
blueprint.add_url_rule("/new", "new_plan", views.new_plan, methods=["GET", "POST"])
blueprint.add_url_rule("/<int:visit_id>", "visit", views.visit_page)
blueprint.add_url_rule("/<int:visit_id>/edit", "edit_plan", views.edit_plan, methods=["GET", "POST"])
blueprint.add_url_rule("/<int:visit_id>/decide", "decide", views.decide, methods=["POST"])
blueprint.add_url_rule("/approvals", "approvals", views.approvals)
blueprint.add_url_rule("/calendar/", "subscribe", feed_views.subscribe, methods=["GET", "POST"])
blueprint.add_url_rule("/calendar/<token>.ics", "feed", feed_views.feed)
blueprint.context_processor(views.template_globals)
