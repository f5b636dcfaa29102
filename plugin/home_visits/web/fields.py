"""What every form of the plugin shares: one-line and plain-text checks, checkbox lists, choices, the
date window a form may name, the version a form was opened at, and the one mapping between a form and
the dataclass it edits (``Plan``, ``RecordData``): same-named fields are copied, never listed by hand."""

from __future__ import annotations

import re
from dataclasses import MISSING, fields
from datetime import date, timedelta
from typing import Any, TypeVar

from wtforms import FieldList, SelectMultipleField, StringField, TextAreaField, ValidationError, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from ..policy import Policy

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 but tab and line breaks, DEL, C1
#: Bidirectional embeddings, overrides and isolates: they make "Jamie" read as "eimaJ", or a name hide
#: another (right-to-left names need none of them; the marks U+200E and U+200F are kept).
_DIRECTION = re.compile("[\u202a-\u202e\u2066-\u2069]")
_LINE_BREAK = re.compile("[\r\n\u2028\u2029]")


def single_line(_form: Any, field: Any) -> None:
    """Refuse line breaks, control characters and text-direction overrides in a one-line field."""
    if field.data and _DIRECTION.search(field.data):
        raise ValidationError("Remove the hidden text-direction characters (pasted with the text, perhaps).")
    if field.data and (_CONTROL.search(field.data) or _LINE_BREAK.search(field.data)):
        raise ValidationError("Use a single line, without line breaks or control characters.")


def plain_text(_form: Any, field: Any) -> None:
    """Refuse control characters (line breaks and tabs are fine) and text-direction overrides in a text area."""
    if field.data and _DIRECTION.search(field.data):
        raise ValidationError("Remove the hidden text-direction characters (pasted with the text, perhaps).")
    if field.data and _CONTROL.search(field.data):
        raise ValidationError("Remove the control characters from this text.")


def strip_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def options(pairs: Any) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def opened_version(field: Any) -> int | None:
    """The version a form was opened at, from its hidden field (None when missing or not a number)."""
    data = field.data or ""
    return int(data) if data.isdecimal() and len(data) <= 10 else None  # 5,000 digits: not a version


def date_window(policy: Policy, today: date) -> tuple[date, date]:
    """The dates a plan, a record or an action may name: the policy's ``rules.plan_dates`` around today."""
    dates = policy.rules.plan_dates
    return today - timedelta(days=dates.days_back), today + timedelta(days=dates.days_ahead)


def within(field: Any, window: tuple[date, date]) -> bool:
    """Whether a date field's answer (if any) lies in ``window``; if not, say so beside the field."""
    first, last = window
    if field.data is None or first <= field.data <= last:
        return True
    field.errors = [*field.errors, f"Choose a date between {first:%d %B %Y} and {last:%d %B %Y}."]
    return False


def text_field(limit: int, *, lines: bool = False, **kwargs: Any) -> Any:
    cls = TextAreaField if lines else StringField
    checks = [Optional(), Length(max=limit, message=f"Keep this under {limit} characters.")]
    return cls(validators=[*checks, plain_text if lines else single_line], filters=[strip_text], **kwargs)




T = TypeVar("T")


def _same_named(form: Any, cls: type) -> list[Any]:
    """The dataclass fields the form has a plain field of the same name for (row groups are mapped by hand)."""
    return [f for f in fields(cls) if f.name in form and not isinstance(form[f.name], FieldList)]


def from_form(form: Any, cls: type[T], **by_hand: Any) -> T:
    """A ``cls`` from the form's same-named fields: an empty answer becomes the field's default (``""``,
    ``None`` or an empty list); ``by_hand`` gives the rest (times in the school's zone, rows)."""
    values = {}
    for f in _same_named(form, cls):
        if f.name not in by_hand:
            data = form[f.name].data
            values[f.name] = list(data or []) if f.default is MISSING else data or f.default
    return cls(**values, **by_hand)


def to_form(form: Any, source: Any, cls: type) -> None:
    """Show ``source`` (a ``cls``) in the form's same-named fields; ``None`` shows as no choice made."""
    for f in _same_named(form, cls):
        value = getattr(source, f.name)
        form[f.name].data = "" if value is None else value
