"""Benchmark: images/s of the classic 64x64 DCGAN on MNIST — pytorch/examples' loop vs the playground.

    python bench/dcgan_speed.py [--device auto|cpu|cuda] [--batch-sizes 64,128,512] [--iters N or N1,N2,N3]
                                [--warmup 3] [--threads 0] [--repeats 1] [--data-dir ../shared/data/mnist] [--compile auto|on|off] [--quiet]

The same as ``python -m gan_core bench`` (see ``gan_core/bench.py`` for what each column measures): for
each batch size, in one process and on one device, a faithful re-implementation of pytorch/examples'
dcgan/main.py training loop (the baseline), the playground's eager path (a real ``gan_core.Run``), and the
same Run compiled (torch.compile; measured on CUDA by default, "n/a" elsewhere unless --compile on). Progress and the table go to stderr, one JSON line to stdout.
Without ``--data-dir`` (or ``$GAN_PLAYGROUND_DATA``) holding the MNIST IDX files it uses random images and
says so. On a 2-core CPU one iteration at batch 64 takes about 2 s: keep ``--iters`` small there, and on
a shared machine let the loops take turns (``--repeats``; each reports its best), e.g.

    python bench/dcgan_speed.py --device cpu --batch-sizes 64,128,512 --iters 8,8,2 --warmup 1 --repeats 2 \\
        --data-dir ../shared/data/mnist
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gan_core.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
