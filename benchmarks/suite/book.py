"""Parts 3 and 4: every chapter through papermill with an empty and then a warm model cache, the peak
memory of its kernel, the HTML build, and the memory floor of a kernel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from peak_memory import PeakMemory, machine_busy_seconds, others_share, own_cpu_seconds  # (a sibling module)

from .common import GB, HERE, ROOT, log, now
from .targets import RESULTS_CHAPTERS, TARGETS


def run_book(quick: bool, only_chapters=None) -> dict:
    import logging

    import papermill
    import yaml

    logging.getLogger("papermill").setLevel(logging.ERROR)  # its parameter-parsing notes are not results

    chapters = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    if only_chapters:
        chapters = [c for c in chapters if c.name[:2] in only_chapters]
    smoke = yaml.safe_load((ROOT / "book" / "smoke_parameters.yml").read_text()) or {} if quick else {}
    skipped = [c.name for c in chapters if quick and c.name not in smoke]
    if skipped:  # at their defaults they could train for minutes: not a smoke run
        log(f"  quick: skipping chapters without smoke parameters in book/smoke_parameters.yml: {skipped}")
        chapters = [c for c in chapters if c.name not in skipped]
    result = {"date": now(), "quick": quick, "chapters": {c.name: {} for c in chapters}, "skipped": skipped,
              "subset": bool(only_chapters)}
    cache = Path(tempfile.mkdtemp(prefix="vaelib-bench-cache-"))
    out = Path(tempfile.mkdtemp(prefix="vaelib-bench-notebooks-"))
    saved = {k: os.environ.get(k) for k in ("VAELIB_CACHE", "TF_CPP_MIN_LOG_LEVEL")}
    os.environ["VAELIB_CACHE"] = str(cache)  # the kernels inherit it; the user's cache is not touched
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result["loads"] = [os.getloadavg()[0]]
    try:
        for phase in ("cold", "warm"):
            log(f"  {phase} cache ({cache}):")
            for chapter in chapters:
                # per executed code cell: [index, seconds, peak GB while it ran, growth of the peak over the
                # memory at its start, GB]
                cells, started = [], {}

                def cell_start(cell, cell_index, **_):
                    memory.take_window()
                    started[cell_index] = time.perf_counter(), memory.current

                def cell_done(cell, cell_index, **_):
                    t0, rss0 = started[cell_index]
                    peak = memory.take_window()
                    cells.append([cell_index, time.perf_counter() - t0, peak / GB, (peak - rss0) / GB])

                start, busy, own = time.perf_counter(), machine_busy_seconds(), own_cpu_seconds()
                with PeakMemory() as memory:
                    try:
                        papermill.execute_notebook(chapter, out / f"{phase}_{chapter.name}",
                                                   parameters=(smoke or {}).get(chapter.name) or {},
                                                   cwd=str(out), kernel_name="python3", progress_bar=False,
                                                   on_cell_start=cell_start, on_cell_executed=cell_done)
                        status = "ok"
                    except Exception as error:  # keep measuring the other chapters, report the failure
                        status = f"FAILED: {type(error).__name__}: {str(error).strip().splitlines()[-1][:300]}"
                seconds = time.perf_counter() - start
                others = others_share(machine_busy_seconds() - busy, own_cpu_seconds() - own, seconds)
                timed = cells
                slowest = max(timed, key=lambda c: c[1], default=None)
                biggest = max(timed, key=lambda c: c[3], default=None)
                result["loads"].append(os.getloadavg()[0])
                result["chapters"][chapter.name][phase] = {
                    "seconds": seconds, "peak_gb": memory.peak / GB, "status": status, "others": others, "cells": timed,
                    "slowest_cell": slowest, "largest_cell": biggest}
                log(f"    {chapter.name:<32} {seconds:7.1f} s  peak RSS {memory.peak / GB:5.2f} GB  "
                    f"other programs {others:.0%}  {status}"
                    + (f"  (slowest cell {slowest[0]}: {slowest[1]:.1f} s; largest memory growth in cell "
                       f"{biggest[0]}: +{biggest[3]:.2f} GB to {biggest[2]:.2f} GB)" if timed else ""))
        entries = [p for p in cache.rglob("*") if p.is_file()]
        result["cache_files"], result["cache_gb"] = len(entries), sum(p.stat().st_size for p in entries) / GB
        result["cached_work"] = cached_work(cache)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)

    build = Path(tempfile.mkdtemp(prefix="vaelib-bench-html-"))
    jb = Path(sys.executable).with_name("jupyter-book")
    command = [str(jb) if jb.exists() else "jupyter-book", "build", str(ROOT), "--path-output", str(build)]
    log(f"  HTML build: {' '.join(command)}")
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    pages = len(list((build / "_build" / "html").rglob("*.html")))
    ok = done.returncode == 0 and (build / "_build" / "html" / "index.html").exists()
    result["html"] = {"seconds": seconds, "status": "ok" if ok else f"FAILED (exit {done.returncode}): "
                      + (done.stderr or done.stdout).strip()[-300:], "pages": pages}
    log(f"    {seconds:.1f} s, {pages} HTML pages, {result['html']['status']}")
    shutil.rmtree(build, ignore_errors=True)
    return result


def cached_work(cache: Path) -> dict:
    """What the cold pass computed and cached: models trained (the digit classifier included; their
    fit() seconds and epochs) and other cached computations (seconds), read from the entries' manifests."""
    work = {"models": 0, "train_s": 0.0, "epochs": 0, "other": 0, "other_s": 0.0}
    for manifest in cache.glob("*/manifest.json"):
        metadata = json.loads(manifest.read_text())["content"]["metadata"]
        config = metadata.get("config", {})
        if "train_seconds" in metadata:
            work["models"] += 1
            work["train_s"] += metadata["train_seconds"]
            work["epochs"] += int(config.get("epochs", 0))
        elif "seconds" in metadata:
            work["other"] += 1
            work["other_s"] += metadata["seconds"]
    return work


def summarize_results_chapters(b: dict) -> dict | None:
    """Issue 4's figures: chapters 06-12 only (None unless every one of them ran, at its defaults)."""
    chapters = {name: c for name, c in b["chapters"].items() if name[:2] in RESULTS_CHAPTERS}
    if b["quick"] or sorted(name[:2] for name in chapters) != list(RESULTS_CHAPTERS):
        return None
    ok = all(c[phase]["status"] == "ok" for c in chapters.values() for phase in ("cold", "warm"))
    return {"cold_s": sum(c["cold"]["seconds"] for c in chapters.values()),
            "warm_s": sum(c["warm"]["seconds"] for c in chapters.values()),
            "peak_gb": max(max(c["cold"]["peak_gb"], c["warm"]["peak_gb"]) for c in chapters.values()),
            "over": sorted(name for name, c in chapters.items()
                           if max(c["cold"]["peak_gb"], c["warm"]["peak_gb"]) > TARGETS["results_peak_gb"][2]),
            "ok": ok}


def book_others_share(b: dict) -> float | None:
    """Share of the machine other programs used during the book part, weighted by the chapters'
    seconds (None for runs made before it was measured)."""
    runs = [r for c in b["chapters"].values() for r in c.values()]
    if not runs or any("others" not in r for r in runs):
        return None
    return sum(r["others"] * r["seconds"] for r in runs) / sum(r["seconds"] for r in runs)


def summarize_book(b: dict) -> dict:
    ch = b["chapters"].values()
    ok = lambda phase: all(c.get(phase, {}).get("status") == "ok" for c in ch)  # noqa: E731
    return {"cold_s": sum(c["cold"]["seconds"] for c in ch), "warm_s": sum(c["warm"]["seconds"] for c in ch),
            "cold_ok": ok("cold"), "warm_ok": ok("warm"),
            "peak_gb": max(max(c["cold"]["peak_gb"], c["warm"]["peak_gb"]) for c in ch),
            "html_s": b["html"]["seconds"], "html_ok": b["html"]["status"] == "ok"}


def run_memory_floor() -> dict:
    """benchmarks/memory_floor.py in a fresh process: resident memory after each step a chapter takes."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, str(HERE / "memory_floor.py")], capture_output=True, text=True, env=env,
                          cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise RuntimeError(f"memory_floor.py failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]), date=now())
