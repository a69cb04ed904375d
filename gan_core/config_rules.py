"""The rules a configuration field is checked by (Range, Text, Choice, Registry), the field helper that
attaches one (``_f``), and the check of a whole section (``_validate``): each bad value raises ValueError
naming the field and what is allowed."""
from __future__ import annotations

import math
from dataclasses import field, fields
from typing import Any


class Range:
    """Closed numeric range rule for one field."""

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = lo, hi

    def check(self, qual: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{qual} = {value!r} must be a number in [{self.lo}, {self.hi}]")
        if (isinstance(value, float) and not math.isfinite(value)) or not (self.lo <= value <= self.hi):
            raise ValueError(f"{qual} = {value!r} is out of range [{self.lo}, {self.hi}]")


class Text:
    """Rule: a string of at most ``max_len`` characters without NUL bytes (paths, names)."""

    def __init__(self, max_len: int = 4096):
        self.max_len = max_len

    def check(self, qual: str, value: Any) -> None:
        if len(value) > self.max_len:
            raise ValueError(f"{qual} is {len(value)} characters long; at most {self.max_len} allowed")
        if "\x00" in value:
            raise ValueError(f"{qual} = {value!r} contains a NUL character")


class Choice:
    """Rule: the value must be one of a fixed tuple."""

    def __init__(self, *choices: Any):
        self.choices = choices

    def check(self, qual: str, value: Any) -> None:
        if value not in self.choices:
            raise ValueError(f"{qual} = {value!r} is not one of {list(self.choices)}")


class Registry(Choice):
    """Rule: the value must be a key of a registry that is imported when first checked (the registries
    import the models, which import this module)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    @property
    def choices(self) -> tuple:
        import importlib
        return tuple(getattr(importlib.import_module(self.module), self.name))


def _validate(obj: Any, section: str) -> None:
    for f in fields(obj):
        value = getattr(obj, f.name)
        qual = f"{section}.{f.name}"
        want = f.type if isinstance(f.type, type) else {"int": int, "float": float, "bool": bool,
                                                           "str": str}.get(str(f.type), object)
        if want is float and isinstance(value, int) and not isinstance(value, bool) and abs(value) < 1e308:
            value = float(value)
            object.__setattr__(obj, f.name, value)
        if want is int and isinstance(value, float) and value.is_integer():
            value = int(value)
            object.__setattr__(obj, f.name, value)
        if want in (int, bool, str) and not (isinstance(value, want) and
                                             (want is bool or not isinstance(value, bool))):
            raise ValueError(f"{qual} = {value!r} must be of type {want.__name__}")
        rule = f.metadata.get("rule")
        if hasattr(rule, "convert"):  # e.g. JSON lists -> the canonical tuple
            object.__setattr__(obj, f.name, rule.convert(qual, value))
        elif rule is not None:
            rule.check(qual, value)


def _f(default: Any, rule: Any = None, live: bool = False) -> Any:
    """A dataclass field with a validation rule; ``live`` marks it changeable while a run trains."""
    return field(default=default, metadata={"rule": rule, "live": live})
