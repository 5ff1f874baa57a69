"""How a param is declared, and the one validator that reads the declarations.

A section of params.yaml is a frozen dataclass; each of its fields is declared once with
`param(check, doc, default)`: the check converts a raw value or says what is allowed, the
default (none = required) fills a key left out, the doc explains it. `parse_section`
validates a raw mapping against such a class; `docs.py` writes docs/params.md from the
same declarations.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from typing import Any

from aeclust.errors import ParamsError

REQUIRED = dataclasses.MISSING


class Check:
    """Converts a raw value of params.yaml or raises ValueError("must be <allowed>")."""

    allowed = "any value"

    def __call__(self, value: Any) -> Any:
        raise NotImplementedError

    def fail(self) -> ValueError:
        return ValueError(f"must be {self.allowed}")


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


class Integer(Check):
    def __init__(self, low: int, high: int | None = None) -> None:
        self.low, self.high = low, high
        self.allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"

    def __call__(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail()
        if value < self.low or (self.high is not None and value > self.high):
            raise self.fail()
        return value


class Number(Check):
    """A finite float in [low, high]; `above` makes the low end open (> low)."""

    def __init__(self, low: float, high: float | None = None, above: bool = False) -> None:
        self.low, self.high, self.above = low, high, above
        if high is not None:
            self.allowed = f"a number in [{low:g}, {high:g}]"
        else:
            self.allowed = f"a number {'>' if above else '>='} {low:g}"

    def __call__(self, value: Any) -> float:
        if not _is_number(value) or not math.isfinite(value):
            raise self.fail()
        if value < self.low or (self.above and value == self.low):
            raise self.fail()
        if self.high is not None and value > self.high:
            raise self.fail()
        return float(value)


class Choice(Check):
    def __init__(self, options: tuple[str, ...]) -> None:
        self.options = options
        self.allowed = f"one of: {', '.join(options)}"

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.options:
            raise self.fail()
        return value


class Boolean(Check):
    allowed = "true or false"

    def __call__(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail()
        return value


class IntList(Check):
    def __init__(self, length: int | None = None) -> None:
        self.length = length
        self.allowed = (
            "a list of integers >= 1" if length is None else f"a list of {length} integers >= 1"
        )

    def __call__(self, value: Any) -> tuple[int, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail()
        if self.length is not None and len(value) != self.length:
            raise self.fail()
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
            raise self.fail()
        return tuple(value)


class Optional(Check):
    """null, or what `check` allows."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.allowed = f"null or {check.allowed}"

    def __call__(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            return self.check(value)
        except ValueError as exc:
            if str(exc) == f"must be {self.check.allowed}":  # not of the inner kind at all
                raise self.fail() from None
            raise


class Inline(Check):
    """A small mapping of settings held in one key (a model's `augment`, `views`), parsed
    into the dataclass `cls`; its errors are reported at that key, as
    ``augment = {'rotation': 400}: rotation = 400: must be a number in [0, 180]``."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.allowed = f"a mapping with keys among {', '.join(field_names(cls))}"

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise self.fail()
        allowed = ", ".join(field_names(self.cls))
        for key in value:
            if key not in field_names(self.cls):
                raise ValueError(f"unknown key {key!r}; allowed: {allowed}")
        settings = {}
        for field in fields_of(self.cls):
            if field.name in value:
                try:
                    settings[field.name] = check_of(field)(value[field.name])
                except ValueError as exc:
                    raise ValueError(f"{field.name} = {shown(value[field.name])}: {exc}") from None
        return self.cls(**settings)


def param(check: Check, doc: str, default: Any = REQUIRED) -> Any:
    """Declare a param: its check, what it is, and its default (none: required)."""
    if isinstance(default, list | dict):  # a mutable default is built anew each time
        return dataclasses.field(
            default_factory=lambda: default, metadata={"check": check, "doc": doc}
        )
    return dataclasses.field(default=default, metadata={"check": check, "doc": doc})


def fields_of(cls: type) -> Iterator[dataclasses.Field]:
    """The declared params of the section class `cls`, in order."""
    return (f for f in dataclasses.fields(cls) if "check" in f.metadata)


def field_names(cls: type) -> list[str]:
    return [f.name for f in fields_of(cls)]


def check_of(field: dataclasses.Field) -> Check:
    return field.metadata["check"]


def has_default(field: dataclasses.Field) -> bool:
    return field.default is not REQUIRED or field.default_factory is not REQUIRED


def default_of(field: dataclasses.Field) -> Any:
    return field.default if field.default is not REQUIRED else field.default_factory()


def shown(value: Any) -> str:
    """A raw value as the one-line errors show it ('text' quoted, (missing) for none)."""
    if value is MISSING:
        return "(missing)"
    return repr(value) if isinstance(value, str) else str(value)


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


MISSING = _Missing()  # a key left out of params.yaml


def fail(where: str, value: Any, why: str) -> ParamsError:
    """The one-line error for key `where`: ``where = value: why``."""
    return ParamsError(f"{where} = {shown(value)}: {why}")


def checked(where: str, value: Any, check: Callable[[Any], Any]) -> Any:
    """`check(value)`, its ValueError turned into the one-line error for `where`."""
    try:
        return check(value)
    except ValueError as exc:
        raise fail(where, value, str(exc)) from None


def dotted(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Section(Check):
    """A nested section (``methods.dec``): parsed by `parse_section`, so that its errors
    name the whole dotted path (``params.yaml: methods.dec.tol = 2: ...``)."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.allowed = f"a mapping with keys {', '.join(field_names(cls))}"

    def parse(self, raw: Any, path: str, prefix: str) -> Any:
        return parse_section(self.cls, raw, path, prefix)


def parse_section(cls: type, raw: Any, path: str, prefix: str = "") -> Any:
    """Validate the mapping `raw` at `path` (``kmeans``; "" for the whole file) against
    the section class `cls`: an unknown key, a required key left out and a bad value
    each become one ParamsError naming the key, the value and what is allowed, after
    `prefix` (``params.yaml: ``). A field whose check has a `parse` method (a `Section`)
    is parsed by it, with its own dotted path."""
    names = field_names(cls)
    if not isinstance(raw, dict):
        allowed = f"must be a mapping with keys {', '.join(names)}"
        if not path:
            raise ParamsError(f"{prefix}{allowed}")
        raise fail(f"{prefix}{path}", raw, allowed)
    for key in raw:
        if key not in names:
            raise ParamsError(
                f"{prefix}{dotted(path, key)}: unknown key; allowed: {', '.join(names)}"
            )
    values = {}
    for field in fields_of(cls):
        where, value, check = (
            dotted(path, field.name),
            raw.get(field.name, MISSING),
            check_of(field),
        )
        if value is MISSING and has_default(field):
            continue
        if hasattr(check, "parse"):
            values[field.name] = check.parse(value, where, prefix)
        elif value is MISSING:
            raise fail(f"{prefix}{where}", value, f"required, {check.allowed}")
        else:
            values[field.name] = checked(f"{prefix}{where}", value, check)
    return cls(**values)
