"""Home visits: plan, authorise and keep staff safe on home visits, inside a Flask school portal.

Names are imported on first use, so ``home_visits.policy`` (which the handbook build reads) loads
without Flask or SQLAlchemy.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .extension import HomeVisits
    from .people import AttributeDirectory, Directory, Person
    from .policy import Policy, PolicyError, load_policy

__version__ = "0.1.0"

_HOMES = {
    "AttributeDirectory": ".people",
    "Directory": ".people",
    "Person": ".people",
    "HomeVisits": ".extension",
    "Policy": ".policy",
    "PolicyError": ".policy",
    "load_policy": ".policy",
}

__all__ = ["AttributeDirectory", "Directory", "HomeVisits", "Person", "Policy", "PolicyError", "__version__",
           "load_policy"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
