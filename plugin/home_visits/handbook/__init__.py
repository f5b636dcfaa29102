"""The staff handbook: MkDocs pages rendered from the school's policy.

:mod:`.macros` is what MkDocs calls (mkdocs.yml names it); :mod:`.tables` says which page carries each
policy section; :mod:`.texts` puts each rule into words; :mod:`.site` builds the site into the instance
folder; :mod:`.views` serves it under the plugin's prefix.
"""

from .tables import LIST_TITLES, PAGES, page_of, section_items, section_names
from .texts import render_items, review_line, route_lines, rules_table, stop_card, tier_lines

__all__ = ["LIST_TITLES", "PAGES", "page_of", "render_items", "review_line", "route_lines", "rules_table",
           "section_items", "section_names", "stop_card", "tier_lines"]
