"""Plans: what staff fill in (:mod:`.rules`), the states a visit moves through (:mod:`.workflow`), plans in
the database (:mod:`.service`), the plan emails (:mod:`.notices`), the lookup of a visit named in a URL
(:mod:`.access`), the plan form (:mod:`.forms`) and the plan pages (:mod:`.views`)."""

from .rules import Plan, check_plan, is_evening, two_staff_reasons
from .workflow import LABELS, STATES, Step, transition

__all__ = ["LABELS", "STATES", "Plan", "Step", "check_plan", "is_evening", "transition", "two_staff_reasons"]
