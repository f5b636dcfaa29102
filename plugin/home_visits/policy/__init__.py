"""The school's home-visit policy: one YAML file, a typed schema and its loader."""

from .loader import DEFAULT_POLICY, POLICY_ENV, PolicyError, cached_policy, load_policy
from .schema import CodeWord, Item, Policy, Reason, Route, Rules, Section

__all__ = [
    "DEFAULT_POLICY",
    "CodeWord",
    "POLICY_ENV",
    "Item",
    "Policy",
    "PolicyError",
    "Reason",
    "Route",
    "Rules",
    "Section",
    "cached_policy",
    "load_policy",
]
