"""Fill vaelib's model cache by running the chapters that train, so a reader's chapter starts warm.

    python scripts/prepare_cache.py                 # what binder/postBuild runs (full scale)
    python scripts/prepare_cache.py --smoke         # the same at smoke scale (book/smoke_parameters.yml)
    python scripts/prepare_cache.py --check 07,09   # run chapters and fail if any model had to be trained

The chapters run top to bottom through papermill at their default parameters (or the smoke ones), so
the cache holds exactly what they train and measure, under the keys they will ask for. Chapters 12
and 13 are left out of the build: chapter 12's 16 models of seeds 1 and 2 take about 12 minutes here,
chapter 13's 10 models of other settings about 8 more, and all the chapters together would not fit
mybinder.org's build time (benchmarks/RESULTS.md). A line per
chapter says what it trained and how long it took. Outputs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import papermill
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
PREPARED = ("04", "06", "07", "09", "10", "11", "14")
"""The chapters whose models the build prepares, in the book's order (10 trains nothing of its own but
measures; 12 and 13 are left out, see above)."""
LEFT_OUT = ("12", "13")
"""The chapters that still train after the build (see above); every other chapter then trains nothing."""


def cache_dir() -> Path:
    from vaelib._runtime.cache import default_cache_dir

    return default_cache_dir()


def trained_models(directory: Path) -> set[str]:
    """Keys of the cache entries that hold a trained network: a VAE, an autoencoder or a digit classifier."""
    keys = set()
    for manifest in directory.glob("*/manifest.json"):
        try:
            metadata = json.loads(manifest.read_text())["content"]["metadata"]
        except (OSError, ValueError, KeyError):
            continue
        if "train_seconds" in metadata:
            keys.add(manifest.parent.name)
    return keys


def chapter_path(number: str) -> Path:
    found = sorted(BOOK.glob(f"{number}_*.ipynb"))
    if len(found) != 1:
        raise SystemExit(f"no chapter numbered {number!r} in book/ (chapters: "
                         f"{', '.join(p.name[:2] for p in sorted(BOOK.glob('[0-9][0-9]_*.ipynb')))})")
    return found[0]


def run(numbers, smoke: bool) -> dict[str, int]:
    """Execute the chapters in order; return how many models each one trained."""
    parameters = yaml.safe_load((BOOK / "smoke_parameters.yml").read_text()) if smoke else {}
    directory, counts = cache_dir(), {}
    os.environ.setdefault("VAELIB_PROGRESS", "0")  # the build log gets one line per chapter instead
    with tempfile.TemporaryDirectory() as out:
        for number in numbers:
            path = chapter_path(number)
            before, start = trained_models(directory), time.perf_counter()
            papermill.execute_notebook(path, Path(out) / path.name, parameters=parameters.get(path.name) or {},
                                       cwd=out, progress_bar=False)
            counts[path.name] = len(trained_models(directory) - before)
            print(f"{path.name}: {counts[path.name]} models trained, {time.perf_counter() - start:.0f} s "
                  f"(cache {directory})", flush=True)
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="small parameters (book/smoke_parameters.yml)")
    ap.add_argument("--check", metavar="NN,NN", help="run these chapters and fail if any of them trained a model")
    args = ap.parse_args(argv)
    numbers = [n.strip().zfill(2) for n in args.check.split(",")] if args.check else list(PREPARED)
    for n in numbers:
        chapter_path(n)  # refuse an unknown chapter before any work
    start = time.perf_counter()
    counts = run(numbers, args.smoke)
    total = sum(counts.values())
    print(f"{len(counts)} chapters, {total} models trained, {time.perf_counter() - start:.0f} s in all", flush=True)
    if args.check and total:
        print(f"--check: expected no training, but {total} models were trained: {counts}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
