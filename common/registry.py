"""Name -> constructor registries, so configs select models, losses, optimisers... by `name:`.

A config section is a mapping with a `name` key; every other key must be a parameter of the
registered constructor. Unknown keys are errors, not silently ignored, because a typo in a
config otherwise trains the wrong system for hours.
"""
from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from common.errors import ConfigError

T = TypeVar("T", bound=Callable[..., Any])
Opts = TypeVar("Opts")  # what an options constructor returns


class Registry:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Callable[..., Any]] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            key = name or obj.__name__
            if key in self._items:
                raise ValueError(f"{self.kind} {key!r} registered twice")
            self._items[key] = obj
            return obj
        return deco

    def add(self, name: str, obj: Callable[..., Any]) -> None:
        """Register an object defined elsewhere (e.g. torch.optim.SGD)."""
        self.register(name)(obj)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def get(self, name: str) -> Callable[..., Any]:
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} {name!r}; choose one of: "
                              f"{', '.join(self.names())}") from None

    def build(self, cfg: Mapping[str, Any], where: str = "", **extra: Any) -> Any:
        """Instantiate `cfg['name']` with the other keys of `cfg` plus `extra` (runtime arguments
        such as `embed_dim` or `params` that the config must not set itself)."""
        where = where or self.kind
        if not isinstance(cfg, Mapping) or "name" not in cfg:
            raise ConfigError(f"{where}: a mapping with a 'name' key is required; choose one of: "
                              f"{', '.join(self.names())}")
        kwargs = {k: v for k, v in cfg.items() if k != "name"}
        return build_options(self.get(cfg["name"]), kwargs, f"{where} ({cfg['name']})", **extra)


def build_options(ctor: Callable[..., Opts], cfg: Mapping[str, Any] | None, where: str,
                  **runtime: Any) -> Opts:
    """The one config validator: `ctor(**cfg, **runtime)` after checking the keys of `cfg`.

    For any constructor, keys it does not take (or that `runtime` reserves) are ConfigErrors. An
    options dataclass also gets:
      - each value checked against the type of its field's default (bool, int, float, str), ints
        and floats converted (YAML `1` for a float field, `2.0` for an int one);
      - `_nested = {field: OptionsClass}`: a mapping value is built recursively, where `where.field`;
      - `_choices = {field: (valid, ...)}`: the value must be one of them;
      - `check(where)`: cross-field checks, raising ConfigError with `where` in the message.
    """
    cfg = {} if cfg is None else cfg
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(cfg).__name__} {cfg!r}")
    check_kwargs(ctor, cfg, where, runtime=tuple(runtime))
    if not (isinstance(ctor, type) and dataclasses.is_dataclass(ctor)):
        return ctor(**cfg, **runtime)
    fields = {f.name: f for f in dataclasses.fields(ctor)}
    nested = getattr(ctor, "_nested", {})
    kwargs = {}
    for key, val in cfg.items():
        if key in nested and isinstance(val, Mapping):
            kwargs[key] = build_options(nested[key], val, f"{where}.{key}")
        else:
            kwargs[key] = _typed(val, fields[key].default, f"{where}.{key}")
    obj = ctor(**kwargs, **runtime)
    for key, valid in getattr(ctor, "_choices", {}).items():
        if getattr(obj, key) not in valid:
            raise ConfigError(f"{where}.{key}: {getattr(obj, key)!r} is not one of "
                              f"{', '.join(map(str, valid))}")
    check = getattr(obj, "check", None)
    if check is not None:
        check(where)
    return obj


def _typed(val: Any, default: Any, where: str) -> Any:
    """`val` checked against (and for numbers converted to) the type of a field's default."""
    if isinstance(default, bool):
        if not isinstance(val, bool):
            raise ConfigError(f"{where}: must be true or false, got {val!r}")
    elif isinstance(default, (int, float)):
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            raise ConfigError(f"{where}: must be a number, got {val!r}")
        if isinstance(default, int) and not float(val).is_integer():
            raise ConfigError(f"{where}: must be an integer, got {val!r}")
        return type(default)(val)
    elif isinstance(default, str) and not isinstance(val, str):
        raise ConfigError(f"{where}: must be a string, got {val!r}")
    return val


def check_kwargs(ctor: Callable[..., Any], kwargs: Mapping[str, Any], where: str,
                 runtime: tuple[str, ...] = ()) -> None:
    """Raise ConfigError for keys `ctor` does not take, or that are reserved for runtime arguments."""
    params = inspect.signature(ctor).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        valid = None
    else:
        valid = {n for n, p in params.items()
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n != "self"}
    for key in kwargs:
        if key in runtime:
            raise ConfigError(f"{where}: key {key!r} is set by the program, remove it from the config")
        if valid is not None and key not in valid:
            choices = ", ".join(sorted(valid - set(runtime)))
            raise ConfigError(f"{where}: unknown key {key!r}; valid keys: {choices}")
