"""Home visits: plan, authorise and keep staff safe on home visits, inside a Flask school portal."""

from .directory import AttributeDirectory, Directory, Person
from .extension import HomeVisits
from .policy import Policy, PolicyError, load_policy

__version__ = "0.1.0"

__all__ = [
    "AttributeDirectory",
    "Directory",
    "HomeVisits",
    "Person",
    "Policy",
    "PolicyError",
    "__version__",
    "load_policy",
]
