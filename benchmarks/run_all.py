"""All of vaelib's benchmarks in one run: writes benchmarks/RESULTS.md and benchmarks/scaling.png.

Parts (``--only`` selects some, comma-separated; default all):

training  vaelib's VAE training (XLA-compiled, as :func:`vaelib.models.training.train` fits it) against the
          keras.io-style reference and against vaelib with ``jit_compile=False``, on the MNIST
          training images, batch 128, float32. One untimed warm-up epoch each, then rounds in which
          every model trains one timed epoch, in turns, the first one rotating; medians over rounds.
peak      the float32 matrix-multiply peak of this machine (large ``tf.matmul``, best of several,
          several sizes), a matmul probe timed *inside* every training round as well, the exact
          FLOP count of the model's dense layers (``benchmarks/flops.py``), the fraction of the
          peak that vaelib's training reaches, and the ceiling the model's matrix shapes set (its
          dense layers' products alone, at batch 128, timed in every round as well). (Without
          ``training``, the rounds time vaelib only.)
book      every chapter ``book/[0-9][0-9]_*.ipynb`` through papermill at its defaults, first with an
          empty model cache (``VAELIB_CACHE`` set to a fresh temporary folder; the user's cache is
          never touched), then again with that cache warm; the peak resident memory of each
          chapter's kernel (with its children), polled with psutil; then the HTML build alone
          (``jupyter-book build --path-output`` into a temporary folder).
scaling   throughput across batch sizes and hidden widths, and epoch time against training-set
          size (expected linear); the figure ``scaling.png``.

Every figure is measured in the run; targets are compared in code. Results of the parts run are
merged into ``results.json`` (the parts not run keep their earlier figures, with their own date)
and ``RESULTS.md`` is regenerated from it; the section "Notes (written by hand)" of RESULTS.md is
kept as written.

Usage::

    python benchmarks/run_all.py                      # everything, writes benchmarks/ (~25-35 min,
                                                      # most of it the book with an empty cache)
    python benchmarks/run_all.py --only training,peak # some parts only (~3 min)
    python benchmarks/run_all.py --quick              # smoke run (~10-15 min): small sizes, smoke
                                                      # parameters for the chapters; prints only
    python benchmarks/run_all.py --quick --output-dir /tmp/bench   # ... and writes there

Run it on an otherwise idle machine; see benchmarks/README.md. The parts are in the package
benchmarks/suite/ (machine.py, training.py, book.py, scaling.py, report.py); this file reads the
command line and runs them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import vaelib  # noqa: E402,F401  (first: its host pin, vaelib/_runtime/host.py, before NumPy and TensorFlow compute)
from suite.book import run_book, run_memory_floor, summarize_book  # noqa: E402 (suite/ is beside this file)
from suite.common import N_TRAIN, log, span  # noqa: E402
from suite.machine import machine_info, machine_line  # noqa: E402
from suite.report import render, write_outputs  # noqa: E402
from suite.scaling import run_scaling  # noqa: E402
from suite.training import load_images, run_training, summarize_training  # noqa: E402

PARTS = ("training", "peak", "book", "scaling", "memory")
FULL = dict(n_train=N_TRAIN, rounds=12, sweep_sizes=(2048, 3072, 4096), sweep_repeats=5, probe_repeats=3,
            batches=(32, 64, 128, 256, 512, 1024), widths=((128, 64), (256, 128), (512, 256)),
            scaling_n=15_000, scaling_rounds=3, sizes=(7_500, 15_000, 30_000, 60_000), size_rounds=3)
QUICK = dict(n_train=15_000, rounds=2, sweep_sizes=(1024, 2048), sweep_repeats=2, probe_repeats=2,
             batches=(32, 128, 1024), widths=((128, 64), (256, 128)),
             scaling_n=4_096, scaling_rounds=1, sizes=(2_048, 4_096, 8_192), size_rounds=1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes; writes only with --output-dir")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts among {', '.join(PARTS)}")
    parser.add_argument("--rounds", type=int, help="rounds of part 1/2 (default 12, --quick 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chapters", help="book part: only these chapters, by number (e.g. 04,07); the totals "
                        "then do not test the whole-book targets")
    parser.add_argument("--output-dir", type=Path, help="where RESULTS.md, results.json and scaling.png go "
                        "(default benchmarks/; --quick writes nothing unless given)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        parser.error(f"unknown part(s) {unknown}; choose from {', '.join(PARTS)}")
    settings = dict(QUICK if args.quick else FULL)
    if args.rounds is not None:
        if args.rounds < 1:
            parser.error("--rounds must be >= 1")
        settings["rounds"] = args.rounds
    output_dir = args.output_dir or (None if args.quick else HERE)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that temporary folders are removed
    info = machine_info()
    log(f"{info['date']}: parts {', '.join(parts)}{' (quick)' if args.quick else ''}")
    log(machine_line(info))
    new, start = {}, time.perf_counter()
    if {"training", "peak", "scaling"} & set(parts):
        x = load_images(max(settings["n_train"], max(settings["sizes"])), args.quick)
    if "training" in parts or "peak" in parts:
        log(f"\n[1-2] training throughput{' and matmul peak' if 'peak' in parts else ''} "
            f"({settings['rounds']} rounds, {settings['n_train']:,} images)")
        new["training"] = run_training(x[:settings["n_train"]], settings, args.seed, training="training" in parts,
                                       peak="peak" in parts)
        ts = summarize_training(new["training"])
        if "ratio" in ts:
            log(f"  vaelib / reference {span(ts['ratio'])}x; vaelib / no-XLA {span(ts['xla_gain'])}x")
        if "fraction" in ts:
            log(f"  peak {ts['peak_gflops']:.1f} GFLOP/s; {new['training']['flops_per_sample']:,} FLOPs per image; "
                f"vaelib {span(ts['vaelib_gflops'], '.1f')} GFLOP/s = {span(ts['fraction'], '.1%')} of peak")
    if "scaling" in parts:
        log("\n[5] growth")
        new["scaling"] = run_scaling(x, settings, args.seed)
        f = new["scaling"]["fit"]
        log(f"  epoch time = {f['slope_s_per_1000']:.3f} s per 1,000 images {'+' if f['intercept_s'] >= 0 else '-'} {abs(f['intercept_s']):.2f} s, "
            f"R^2 {f['r2']:.4f}, max deviation {f['max_rel_dev']:.1%}")
    if "memory" in parts:
        log("\n[4b] memory floor (benchmarks/memory_floor.py)")
        new["memory"] = run_memory_floor()
        for r in new["memory"]["steps"]:
            log(f"  {r['step']:<52} {r['rss_gb']:5.2f} GB (peak {r['peak_gb']:5.2f}, file-backed {r['file_backed_gb']:.2f})")
    if "book" in parts:
        log(f"\n[3-4] the book{' (smoke parameters)' if args.quick else ''}")
        new["book"] = run_book(args.quick, [c.strip().zfill(2) for c in args.chapters.split(",")]
                               if args.chapters else None)
        bs = summarize_book(new["book"])
        log(f"  cold {bs['cold_s']:.1f} s, warm {bs['warm_s']:.1f} s, HTML {bs['html_s']:.1f} s, "
            f"largest kernel {bs['peak_gb']:.2f} GB")
    log(f"\ntotal {time.perf_counter() - start:.0f} s")
    if output_dir is not None:
        write_outputs(output_dir, new, parts, args.quick, info)
    else:
        data = dict(new, machine=info, last_parts=parts, quick=args.quick)
        text = render(data, "")
        log("\n" + text.split("## Machine")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
