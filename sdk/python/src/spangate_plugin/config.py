"""Typed plugin config: the gateway hands ``init`` the plugin's YAML ``config`` as
JSON text; :func:`parse_config` turns it into a dataclass, checking every key.

Example::

    @dataclass
    class Config:
        mask_keys: List[str] = field(default_factory=list)
        slow_ms: NonNegativeInt = 1000
        drop_name: str = ""

    config = parse_config(text, Config)   # raises ConfigError naming the key

Rules: blank text reads as ``{}``; the top level and every nested dataclass must be a
JSON object; a key that is not a field is refused; a field without a default is
required; values are checked against the field's type hint (``str``, ``int`` (not
``bool``), ``float`` (an ``int`` is accepted), ``bool``, ``List[T]``,
``Tuple[T, ...]``, ``Dict[str, T]``, ``Optional[T]``, ``Union``, ``Literal``, ``Enum``,
nested dataclasses, ``Any``), with ``Annotated[T, Range(...)]`` for bounds. Error
messages start with the dotted path of the key: ``rules[1].prefix: missing key``.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Dict, List, Optional, Type, TypeVar, Union

from .errors import ConfigError

T = TypeVar("T")

__all__ = [
    "ConfigError",
    "NonNegativeInt",
    "Range",
    "U32",
    "U64",
    "parse_config",
]


@dataclass(frozen=True)
class Range:
    """Bounds for a number: ``Annotated[int, Range(min=0)]``. Either bound may be
    ``None`` (open)."""

    min: Optional[float] = None
    max: Optional[float] = None

    def check(self, value: Any, path: str) -> None:
        low = self.min
        high = self.max
        if (low is not None and value < low) or (high is not None and value > high):
            if low is not None and high is not None:
                wanted = f"a number in {low}..={high}"
            elif low is not None:
                wanted = f"a number >= {low}"
            else:
                wanted = f"a number <= {high}"
            raise ConfigError(f"{path}: invalid value: {_describe(value)}, expected {wanted}")


NonNegativeInt = Annotated[int, Range(min=0)]
"""An ``int`` >= 0."""
U32 = Annotated[int, Range(min=0, max=(1 << 32) - 1)]
"""An ``int`` that fits a ``u32``."""
U64 = Annotated[int, Range(min=0, max=(1 << 64) - 1)]
"""An ``int`` that fits a ``u64``."""


def parse_config(text: str, config_type: Type[T]) -> T:
    """Parses the JSON ``text`` into the dataclass ``config_type``; raises
    :class:`ConfigError` naming the key on any problem."""
    if not dataclasses.is_dataclass(config_type):
        raise TypeError(f"parse_config needs a dataclass type, got {config_type!r}")
    if text is None or not text.strip():
        text = "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"config is not valid JSON: {error}") from None
    return typing.cast(T, _dataclass(config_type, value, ""))


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {json.dumps(value)}"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _where(path: str) -> str:
    return path if path else "config"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _dataclass(config_type: Any, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(
            f"{_where(path)}: invalid type: {_describe(value)}, expected an object"
        )
    hints = typing.get_type_hints(config_type, include_extras=True)
    fields = [f for f in dataclasses.fields(config_type) if f.init]
    names = [f.name for f in fields]
    for key in value:
        if key not in names:
            expected = ", ".join(f"`{name}`" for name in names)
            raise ConfigError(
                f"{_join(path, key)}: unknown key, expected one of {expected}"
                if names
                else f"{_join(path, key)}: unknown key, this config takes no keys"
            )
    arguments: Dict[str, Any] = {}
    for f in fields:
        key_path = _join(path, f.name)
        if f.name in value:
            arguments[f.name] = _convert(hints.get(f.name, Any), value[f.name], key_path)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key_path}: missing key")
    return config_type(**arguments)


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)

    if origin is Annotated:
        converted = _convert(args[0], value, path)
        for meta in args[1:]:
            if isinstance(meta, Range):
                meta.check(converted, path)
        return converted
    if hint is Any or hint is object:
        return value
    if origin is Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                return _convert(option, value, path)
            except ConfigError as error:
                errors.append(error)
        if len(errors) == 1:
            raise errors[0]
        raise ConfigError(f"{path}: invalid value: {_describe(value)}, matches none of {hint}")
    if origin is typing.Literal:
        if value in args and all(type(value) is type(arg) for arg in args if arg == value):
            return value
        expected = ", ".join(json.dumps(arg) for arg in args)
        raise ConfigError(f"{path}: invalid value: {_describe(value)}, expected one of {expected}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{path}: invalid type: {_describe(value)}, expected a boolean")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{path}: invalid type: {_describe(value)}, expected an integer")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{path}: invalid type: {_describe(value)}, expected a number")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{path}: invalid type: {_describe(value)}, expected a string")
    if origin in (list, List, typing.Sequence, tuple) or hint in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{path}: invalid type: {_describe(value)}, expected a list")
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise ConfigError(
                    f"{path}: invalid length {len(value)}, expected a list of {len(args)}"
                )
            return tuple(_convert(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        items = [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or hint is tuple else items
    if origin in (dict, Dict, typing.Mapping) or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: invalid type: {_describe(value)}, expected an object")
        item = args[1] if len(args) == 2 else Any
        return {k: _convert(item, v, _join(path, k)) for k, v in value.items()}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        for member in hint:
            if member.value == value and type(member.value) is type(value):
                return member
        expected = ", ".join(json.dumps(member.value) for member in hint)
        raise ConfigError(f"{path}: invalid value: {_describe(value)}, expected one of {expected}")
    if dataclasses.is_dataclass(hint):
        return _dataclass(hint, value, path)
    raise TypeError(f"{path}: parse_config does not support the type {hint!r}")
