"""Strict YAML experiment configs: one file per system, fixed top-level sections, `--set a.b=v` overrides.
A config may start from another: `base: other.yaml` (a path relative to the file) loads that config and
merges this file's sections over it (mappings key by key, anything else replaced), so a variant names only
what it changes (e.g. conf/resnet34se_lm.yaml: the CNSRC baseline plus a large-margin stage).

The resolved config (after overrides) is saved as exp/<sys>/config.yaml with argv and git SHA,
and later stages read that file rather than repeating flags.
"""
from __future__ import annotations

import copy
import datetime
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from common.errors import ConfigError
from common.io import atomic_write

SECTIONS = ("data", "features", "augment", "model", "loss", "optim", "scheduler", "train",
            "stages", "extract", "backend", "meta")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"{node.start_mark.name}:{key_node.start_mark.line + 1}: duplicate key {key!r}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# YAML 1.1 reads `1e-3` as a string; learning rates are written that way, so accept it as a float.
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def load_yaml(path: str | os.PathLike) -> Any:
    try:
        with open(path) as f:
            return yaml.load(f, Loader=_StrictLoader)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}".replace("\n", " ")) from None


BASE_KEY = "base"


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def load_with_base(path: str | os.PathLike, _chain: tuple[str, ...] = ()) -> Any:
    """The YAML of `path` with its `base:` resolved (recursively): the base config with this file merged over it."""
    cfg = load_yaml(path)
    if not isinstance(cfg, dict) or BASE_KEY not in cfg:
        return cfg
    base = cfg.pop(BASE_KEY)
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: base: must name a config file, e.g. base: resnet34se.yaml")
    base_path = Path(path).parent / base
    here = os.path.realpath(path)
    if os.path.realpath(base_path) in (*_chain, here):
        raise ConfigError(f"{path}: base: {base} leads back to itself")
    parent = load_with_base(base_path, (*_chain, here))
    if not isinstance(parent, dict):
        raise ConfigError(f"{base_path} (base of {path}): top level must be a mapping of sections")
    return _merge(parent, cfg)


def _walk(cfg: Any, parts: list[str], create: bool) -> Any:
    """The node at cfg[parts[0]][parts[1]]...; with `create`, missing mappings are added on the way.
    KeyError('a.b') names the first part that is missing or sits under a non-mapping."""
    node = cfg
    for i, part in enumerate(parts):
        if isinstance(node, dict) and (create or part in node):
            node = node.setdefault(part, {})
        else:
            raise KeyError(".".join(parts[:i + 1]))
    return node


def get_dotted(cfg: Any, key: str) -> Any:
    """cfg['a']['b'] for key 'a.b'; KeyError names the first missing part."""
    return _walk(cfg, key.split("."), create=False)


def set_dotted(cfg: dict, key: str, value: Any, where: str) -> None:
    """cfg['a']['b'] = value for key 'a.b' (a deep copy), creating mappings on the way."""
    parts = key.split(".")
    if len(parts) < 2:
        raise ConfigError(f"{where}: key {key!r} must be section.key, e.g. data.num_frames")
    try:
        parent = _walk(cfg, parts[:-1], create=True)
    except KeyError as e:
        parent, parts = None, e.args[0].split(".")
    if not isinstance(parent, dict):
        raise ConfigError(f"{where}: {key!r}: {'.'.join(parts[:-1])!r} is not a mapping")
    parent[parts[-1]] = copy.deepcopy(value)


def apply_overrides(cfg: dict, overrides: Iterable[str]) -> dict:
    """`a.b=v` sets cfg['a']['b'] to the YAML value of v (so `3`, `1e-3`, `true`, `[1,2]` are typed)."""
    cfg = copy.deepcopy(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. --set optim.lr=0.01")
        path, raw = item.split("=", 1)
        section = path.split(".")[0]
        if section not in SECTIONS:
            raise ConfigError(f"--set {item!r}: unknown section {section!r}; valid: {', '.join(SECTIONS)}")
        if "." not in path:                 # a whole section, e.g. --set 'augment={}'
            cfg[section] = yaml.load(raw, Loader=_StrictLoader)
        else:
            set_dotted(cfg, path, yaml.load(raw, Loader=_StrictLoader), f"--set {item!r}")
    return cfg


def load_config(path: str | os.PathLike, overrides: Iterable[str] = ()) -> dict:
    cfg = load_with_base(path) or {}
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: top level must be a mapping of sections ({', '.join(SECTIONS)})")
    for key in cfg:
        if key not in SECTIONS:
            raise ConfigError(f"{path}: unknown section {key!r}; valid sections: {', '.join(SECTIONS)}")
    return apply_overrides(cfg, overrides)


def git_sha(root: str | os.PathLike | None = None) -> str:
    root = root or Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def save_resolved(cfg: dict, path: str | os.PathLike, argv: list[str] | None = None) -> None:
    """Write the resolved config with provenance under `meta:`, atomically."""
    out = copy.deepcopy(cfg)
    out["meta"] = {
        "argv": list(sys.argv if argv is None else argv),
        "git_sha": git_sha(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    with atomic_write(path) as f:
        yaml.safe_dump(out, f, sort_keys=False)
