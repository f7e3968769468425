"""Name -> constructor registries, so configs select models, losses, optimisers... by `name:`.

A config section is a mapping with a `name` key; every other key must be a parameter of the
registered constructor. Unknown keys are errors, not silently ignored, because a typo in a
config otherwise trains the wrong system for hours.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping, TypeVar

from common.errors import ConfigError

T = TypeVar("T", bound=Callable[..., Any])


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
            raise ConfigError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}") from None

    def build(self, cfg: Mapping[str, Any], where: str = "", **extra: Any) -> Any:
        """Instantiate `cfg['name']` with the other keys of `cfg` plus `extra` (runtime arguments
        such as `embed_dim` or `params` that the config must not set itself)."""
        where = where or self.kind
        if not isinstance(cfg, Mapping) or "name" not in cfg:
            raise ConfigError(f"{where}: a mapping with a 'name' key is required; choose one of: "
                              f"{', '.join(self.names())}")
        kwargs = {k: v for k, v in cfg.items() if k != "name"}
        ctor = self.get(cfg["name"])
        check_kwargs(ctor, kwargs, f"{where} ({cfg['name']})", runtime=tuple(extra))
        return ctor(**kwargs, **extra)


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
