"""The visit record: what the lead writes and its checks (:mod:`.rules`), records in the database
(:mod:`.service`), the record form (:mod:`.forms`) and the record pages (:mod:`.views`)."""

from .rules import Action, RecordData, check_record, cpoms_text

__all__ = ["Action", "RecordData", "check_record", "cpoms_text"]
