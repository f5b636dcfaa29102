"""Request helpers below every domain, knowing none of them: the app's state, the session and the
signed-in person (:mod:`.context`), the guards (:mod:`.guards`), links from ``HOME_VISITS_PUBLIC_URL``
(:mod:`.links`), where a stranger logs in (:mod:`.login`), the error pages (:mod:`.errors`) and shared form
fields (:mod:`.fields`). The pages that compose domains are in :mod:`home_visits.pages`."""

from .links import base_url, public_url, visit_link

__all__ = ["base_url", "public_url", "visit_link"]
