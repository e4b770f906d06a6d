"""Pin what the CPU would otherwise decide about vaelib's numbers, so a seed gives the same bits on any x86-64 host.

TensorFlow, oneDNN, NumPy and OpenBLAS each pick their code path by the CPU they find, and two paths
round differently. Measured on an AMD EPYC with AVX-512 (2026-12-07, ``benchmarks/determinism.json``):
limiting oneDNN to AVX2 changes the weights of every model, including those trained by XLA (its
matrix products run in oneDNN); oneDNN is on by default only on CPUs with AVX512_VNNI or newer;
NumPy's AVX-512 loops and OpenBLAS's kernel choice change float64 results in their last bits; XLA's
own instruction set changed the weights on an Intel Xeon (issue 23). Each variable below sets one
of these to a path every x86-64 CPU with AVX2 has. They act when each library first computes, so
``import vaelib`` comes before NumPy and TensorFlow are used (the chapters import it first).

``VAELIB_PIN_HOST=0`` leaves the host's own choices (to measure what the pin costs).
"""

from __future__ import annotations

import os
import sys
import warnings

PIN_SWITCH = "VAELIB_PIN_HOST"

# variable -> value; XLA_FLAGS keeps the caller's other flags.
PINNED = {
    "XLA_FLAGS": "--xla_cpu_max_isa=AVX2",   # XLA's generated code (the training step)
    "TF_ENABLE_ONEDNN_OPTS": "1",             # TensorFlow's kernels through oneDNN on every CPU
    "ONEDNN_MAX_CPU_ISA": "AVX2",             # oneDNN's kernels, inside and outside XLA
    "OPENBLAS_CORETYPE": "Haswell",           # NumPy's and SciPy's OpenBLAS (an AVX2 kernel set)
}
# NumPy's dispatch targets above AVX2, disabled where the CPU has them (NumPy refuses nothing here).
NUMPY_FEATURES_ABOVE_AVX2 = {"X86_V4": "avx512f", "AVX512_SKX": "avx512f", "AVX512_CLX": "avx512_vnni",
                             "AVX512_CNL": "avx512ifma", "AVX512_ICL": "avx512_vbmi2", "AVX512_SPR": "avx512_fp16"}


class HostPinWarning(UserWarning):
    """The pin could not take full effect: results may differ in their last bits from the book's."""


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def pinned_environment(flags: set[str] | None = None) -> dict[str, str]:
    """The variables and values that pin this host (NumPy's entry lists only features it has)."""
    flags = cpu_flags() if flags is None else flags
    numpy_features = " ".join(name for name, flag in NUMPY_FEATURES_ABOVE_AVX2.items() if flag in flags)
    return {**PINNED, **({"NPY_DISABLE_CPU_FEATURES": numpy_features} if numpy_features else {})}


def _xla_isa(flags: str | None) -> str | None:
    """The ``--xla_cpu_max_isa=...`` option among ``flags``, if any."""
    return next((flag for flag in (flags or "").split() if flag.startswith("--xla_cpu_max_isa=")), None)


def _merged_xla_flags(current: str, pinned: str) -> str:
    option = pinned.split("=", 1)[0]
    others = [flag for flag in current.split() if not flag.startswith(option + "=")]
    return " ".join([*others, pinned])


def pin() -> dict[str, str]:
    """Set the pinned variables in this process (and so in the processes it starts); return them.

    A variable already set to another value is replaced, with a :class:`HostPinWarning` naming it.
    """
    if os.environ.get(PIN_SWITCH, "1") == "0":
        return {}
    late = [name for name in ("numpy", "tensorflow") if name in sys.modules]
    pinned = pinned_environment()
    changed = []
    for name, value in pinned.items():
        current = os.environ.get(name)
        wanted = _merged_xla_flags(current or "", value) if name == "XLA_FLAGS" else value
        if current == wanted:
            continue
        overridden = _xla_isa(current) if name == "XLA_FLAGS" else current
        if overridden:
            warnings.warn(f"{name}={current!r} replaced by {wanted!r}: vaelib pins it so that results are the same "
                          f"on every x86-64 CPU (set {PIN_SWITCH}=0 to keep your value)", HostPinWarning, stacklevel=2)
        os.environ[name] = wanted
        changed.append(name)
    if changed and "numpy" in late and ("NPY_DISABLE_CPU_FEATURES" in changed or "OPENBLAS_CORETYPE" in changed):
        warnings.warn("numpy was imported before vaelib, so its CPU-specific loops are already chosen: float64 "
                      "results may differ in their last bits from the book's; import vaelib first",
                      HostPinWarning, stacklevel=2)
    return pinned


def effective() -> dict[str, str | None]:
    """What of the pin this process has (part of every cache key): the same on every pinned host."""
    return {"XLA_FLAGS": _xla_isa(os.environ.get("XLA_FLAGS"))} | {
        name: os.environ.get(name) for name in PINNED if name != "XLA_FLAGS"} | {PIN_SWITCH: os.environ.get(PIN_SWITCH, "1")}
