"""Reports for SLT (:mod:`.service`, with term presets in :mod:`.terms`), data protection: retention and the
subject-access export (:mod:`.retention`, and :mod:`.subject_access` for the family's readable copy), and
the reports page (:mod:`.views`)."""

from .retention import export_pupil, purge
from .service import rows, summarise, to_csv
from .subject_access import readable

__all__ = ["export_pupil", "purge", "readable", "rows", "summarise", "to_csv"]
