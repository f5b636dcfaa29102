"""Load and validate a policy file, failing with a message that names the file, key and problem."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from pydantic import ValidationError

from .schema import Policy

#: The policy shipped with the plugin.
DEFAULT_POLICY = Path(__file__).with_name("default.yaml")

#: The environment variable the handbook build reads (the portal reads ``HOME_VISITS_POLICY`` config).
POLICY_ENV = "HOME_VISITS_POLICY"

#: Set to 1 to see the traceback behind a policy error at start-up (``flask --debug`` sets ``FLASK_DEBUG``).
DEBUG_ENV = ("FLASK_DEBUG", "HOME_VISITS_DEBUG")


class StartupError(ValueError):
    """A setting or file the portal cannot start with. If nothing catches it (as the portal or a
    ``flask home-visits`` command starts), the process ends with one line saying :attr:`what` cannot be
    used and why; the traceback only with ``--debug``. See :func:`report_briefly`."""

    #: What cannot be used, as the one line at start-up begins.
    what = "a setting"


class PolicyError(StartupError):
    """A policy file that cannot be used; ``str()`` names the file, the key path and the problem."""

    what = "the home-visit policy"

    def __init__(self, path: Path | str, key: str, problem: str, line: int | None = None) -> None:
        self.path, self.key, self.problem, self.line = str(path), key, problem, line
        where = f"{self.path}, line {line}" if line else self.path
        super().__init__(f"{where}: {key or '(top level)'}: {problem}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key written twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:  # type: ignore[override]
        """A date that looks like one but is not (2026-02-30) stays text, for the schema to refuse
        with its key and line, instead of stopping the YAML reader with neither."""
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[no-untyped-call]
        except ValueError:
            return self.construct_scalar(node)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _UniqueKeyLoader.construct_yaml_timestamp)


def _read(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(path, "", "the file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(path, "", f"the file cannot be read ({exc})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise PolicyError(path, "", f"not valid YAML: {exc.problem or exc}", line) from None
    if not isinstance(data, dict):
        raise PolicyError(path, "", "the file must be a mapping of policy keys (it is empty or a list)")
    return data, node


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest node that ``loc`` reaches in the composed YAML."""
    line = node.start_mark.line + 1 if node else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
            if node is None:
                # An unknown key: point at the key itself when it exists.
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def _merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else (lists included) in ``changes`` replaces the base."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _inherited_routes(merged: dict[str, Any], *, school: Mapping[str, Any]) -> dict[str, Any]:
    """Routes the school's file took from the default keep only the reasons and risk factors the
    school's own lists still have (a route left with none goes). Routes a school writes itself are
    checked whole, so a mistyped id there still stops the portal."""
    rules = school.get("rules")
    if isinstance(rules, Mapping) and "routes" in rules:
        return merged
    known = {key: {item.get("id") for item in merged.get(key) or [] if isinstance(item, Mapping)}
             for key in ("reasons", "risk_factors")}
    known["risk_factors"].add("any")
    kept = []
    for route in merged.get("rules", {}).get("routes") or []:
        route = {**route, **{key: [i for i in route.get(key, []) if i in known[key]] for key in known}}
        if route["reasons"] or route["risk_factors"]:
            kept.append(route)
    merged["rules"] = {**merged.get("rules", {}), "routes": kept}
    return merged


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problem(error: Mapping[str, Any]) -> str:
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling against the default policy)"
    if kind == "missing":
        return "required key is missing"
    return str(message).removeprefix("Value error, ")


def _debugging() -> bool:
    return any(os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no") for name in DEBUG_ENV)


def _short_policy_errors(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook``: a policy or settings error nobody caught (at start-up) prints as its one line."""
    if isinstance(error, StartupError) and not _debugging():
        print(f"Error: {error.what} cannot be used: {error} (run with --debug for the traceback)", file=sys.stderr)
        return
    _previous_hook(kind, error, tb)


_previous_hook = sys.excepthook


def report_briefly() -> None:
    """From now on, an uncaught :class:`StartupError` ends the process with one line, not a traceback."""
    global _previous_hook
    if sys.excepthook is not _short_policy_errors:
        _previous_hook, sys.excepthook = sys.excepthook, _short_policy_errors


def load_policy(path: str | os.PathLike[str] | None = None, *, trust: str | os.PathLike[str] | None = None,
                overlay: Mapping[str, Any] | None = None) -> Policy:
    """Load the policy at ``path`` (the shipped default when ``None``) and validate it.

    A file may start with ``extends: default``: its keys are then merged into the default policy
    (mappings key by key; a list replaces the default's list whole). In a trust, a school's file may
    start with ``extends: trust`` instead: it is merged over the trust's file (``trust``, which itself
    may extend the default). ``overlay`` is merged over the result (a trust school's name, from
    ``HOME_VISITS_SCHOOLS``).
    Raises :class:`PolicyError` naming the file, the key path and the problem. If nothing catches it
    (a bad file as the portal or a ``flask home-visits`` command starts), the process ends with that one
    line; the traceback is printed only with ``--debug`` (``FLASK_DEBUG``) or ``HOME_VISITS_DEBUG=1``.
    """
    try:
        return _load(path, trust=trust, overlay=overlay)
    except PolicyError:
        report_briefly()
        raise


def _data(file: Path, *, trust: str | os.PathLike[str] | None) -> tuple[dict[str, Any], yaml.Node | None]:
    """The file's keys merged over what it extends."""
    data, node = _read(file)
    base = data.pop("extends", None)
    if base is None:
        return data, node
    if base == "default":
        default, _ = _read(DEFAULT_POLICY)
        return _inherited_routes(_merge(default, data), school=data), node
    if base == "trust":
        if trust is None:
            raise PolicyError(file, "extends", "'trust' can be extended only by a school's policy in "
                                               "HOME_VISITS_SCHOOLS, with the trust's file in HOME_VISITS_POLICY")
        trust_file = Path(trust)
        if trust_file.resolve() == file.resolve():
            raise PolicyError(file, "extends", "the trust's own policy cannot extend 'trust'")
        trusted, _ = _data(trust_file, trust=None)
        return _inherited_routes(_merge(trusted, data), school=data), node
    which = "'default' or 'trust'" if trust is not None else "'default'"
    raise PolicyError(file, "extends", f"only {which} can be extended, not {base!r}")


def _load(path: str | os.PathLike[str] | None, *, trust: str | os.PathLike[str] | None = None,
          overlay: Mapping[str, Any] | None = None) -> Policy:
    file = Path(path) if path else DEFAULT_POLICY
    data, node = _data(file, trust=trust)
    if overlay:
        data = _merge(data, overlay)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        # A whole-policy check that found its problem deeper down says where (schema.Misplaced).
        loc = tuple(error["loc"]) + getattr(error.get("ctx", {}).get("error"), "loc", ())
        line = _line_of(node, loc)
        raise PolicyError(file, _format_loc(loc), _problem(error), line) from None


@lru_cache(maxsize=64)
def _cached(path: str, mtimes: tuple[float, ...], trust: str | None, name: str | None) -> Policy:
    return load_policy(path, trust=trust, overlay={"school": {"name": name}} if name else None)


def cached_policy(path: str | os.PathLike[str] | None = None, *, trust: str | os.PathLike[str] | None = None,
                  name: str | None = None) -> Policy:
    """:func:`load_policy`, cached until the file (or the trust's file it extends) changes; ``name``
    replaces the file's ``school.name`` (a trust school's name from ``HOME_VISITS_SCHOOLS``)."""
    file = Path(path) if path else DEFAULT_POLICY
    try:
        mtimes = tuple(Path(each).stat().st_mtime for each in (file, trust) if each)
    except OSError:  # raises the PolicyError that names the file
        return load_policy(file, trust=trust, overlay={"school": {"name": name}} if name else None)
    return _cached(str(file), mtimes, str(trust) if trust else None, name)
