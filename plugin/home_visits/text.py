"""How names, references, postcodes and addresses are written and compared. Pure: no Flask, no database."""

from __future__ import annotations

import re
import unicodedata


def initials(pupil: str) -> str:
    """``"Jamie Lee Smith"`` -> ``"J.L.S."``: what calendars and emails show instead of a name."""
    letters = [word[0].upper() for word in re.findall(r"[^\W\d_][\w'-]*", pupil)][:4]
    return "".join(f"{letter}." for letter in letters) or "?"


def search_key(value: str) -> str:
    """A name or reference as searches compare it: NFKC-normalised, case-folded, single-spaced (any
    run of whitespace, a non-breaking space too, is one space). ``"  ZOË\u00a0Ünal"`` -> ``"zoë ünal"``."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())[:120]


def normalise_ref(reference: str) -> str:
    """A school's pupil reference as stored and searched: no spaces, upper case (``"a123 456"`` -> ``"A123456"``)."""
    return "".join(unicodedata.normalize("NFKC", reference).split()).upper()[:40]


def normalise_postcode(postcode: str) -> str:
    compact = re.sub(r"\s+", "", postcode).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def address_key(address: str) -> str:
    """An address as two plans for the same home compare it: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]+", " ", address.lower()).strip()


def address_line(address: str, postcode: str) -> str:
    """The address and postcode on one line, as emails and the safeguarding copy show them."""
    return f"{' '.join(address.split())} {postcode}".rstrip()
