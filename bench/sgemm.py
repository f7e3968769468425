"""The rate of this machine on a large square float32 GEMM (torch / MKL), on 1 and 2 threads: the
scale for the GFLOP/s columns of `bench/extract.py --flops`. Median and best of 9 runs.

  . ./path.sh && python bench/sgemm.py [--size 1536]
"""
from __future__ import annotations

import argparse
import sys
import time

import torch


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=1536, help="n of the n x n x n product")
    args = ap.parse_args(argv)
    n = args.size
    gen = torch.Generator().manual_seed(0)
    a, b, c = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen), torch.empty(n, n)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.mm(a, b, out=c)
        ts = []
        for _ in range(9):
            t = time.perf_counter()
            torch.mm(a, b, out=c)
            ts.append(time.perf_counter() - t)
        flop = 2 * n ** 3
        print(f"sgemm {n}^3, {threads} thread(s): median {flop / sorted(ts)[4] / 1e9:.0f} GFLOP/s, "
              f"best {flop / min(ts) / 1e9:.0f} GFLOP/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
