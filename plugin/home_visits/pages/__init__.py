"""The top floor of the web side: the blueprint with every URL rule (:mod:`.blueprint`), the visit page that
shows a plan, its safety chain and its record together (:mod:`.visit`), and the menu's context (:mod:`.menu`).
It imports the domains; none of them imports it."""

from .blueprint import blueprint

__all__ = ["blueprint"]
