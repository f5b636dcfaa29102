"""A small school portal that embeds the home-visits plugin the way a real host would.

Run it with ``flask --app demo_portal run`` (see the README for the demo logins).
"""

from .app import create_app

__all__ = ["create_app"]
