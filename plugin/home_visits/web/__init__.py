"""The web layer shared by every domain's views: the blueprint with every URL rule (:mod:`.blueprint`),
request helpers (:mod:`.context`), the guards (:mod:`.guards`), links (:mod:`.links`), error pages,
shared form fields and the visit page. Import the blueprint from :mod:`.blueprint` itself."""

from .links import base_url, public_url, visit_link

__all__ = ["base_url", "public_url", "visit_link"]
