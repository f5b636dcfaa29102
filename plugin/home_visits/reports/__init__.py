"""Reports for SLT (:mod:`.service`), data protection: retention and the subject-access export
(:mod:`.retention`), and the reports page (:mod:`.views`)."""

from .retention import export_html, export_pupil, purge
from .service import rows, summarise, to_csv

__all__ = ["export_html", "export_pupil", "purge", "rows", "summarise", "to_csv"]
