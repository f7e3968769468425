"""Print one value of a system config, for recipe stages that read exp/<sys>/config.yaml.

Usage: python -m pytorch.bin.config_get [options] <config.yaml> <dotted-key>
 e.g.: python -m pytorch.bin.config_get exp/ecapa_mini/config.yaml backend.chain     # mean,lda:64,lnorm,plda
       python -m pytorch.bin.config_get --default 300 exp/x/config.yaml backend.top_n

Lists print comma-joined (the form `score.bin.train_backend --chain` takes), scalars as they are.
A missing key is an error unless --default is given, so a typo in a stage fails loudly. A config that
starts from another (`base: other.yaml`) is read with its base merged in, as training reads it.
"""
from __future__ import annotations

import sys
from typing import Any

from common.cli import make_parser, run_main
from common.errors import ConfigError
from pytorch.config import get_dotted, load_with_base

PROG = "config_get"


def render(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(render(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--default", default=None, help="printed when the key is absent")
    ap.add_argument("config", help="a config file, e.g. exp/<sys>/config.yaml")
    ap.add_argument("key", help="dotted key, e.g. backend.chain")
    args = ap.parse_args(argv)

    def body() -> None:
        cfg = load_with_base(args.config) or {}
        try:
            value = get_dotted(cfg, args.key)
        except KeyError as e:
            if args.default is None:
                raise ConfigError(f"{args.config}: no key {e.args[0]!r}; add it to the config "
                                  "or pass --default") from None
            value = args.default
        print(render(value))
    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
