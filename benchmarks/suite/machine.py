"""The description of the machine and software a run measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata

from .common import GB, ROOT, now


def machine_info() -> dict:
    import psutil
    from vaelib.probe import cpu_model

    model = cpu_model()
    versions = {}
    for name in ("tensorflow", "keras", "numpy", "papermill", "jupyter-book", "myst-nb", "psutil", "vaelib"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        commit = (commit + (" with uncommitted changes" if dirty else "")) if commit else "not a git checkout"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {
        "date": now(),
        "cpu": model,
        "logical_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": psutil.virtual_memory().total / GB,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit,
        "load_start": os.getloadavg()[0],
    }


def machine_line(info: dict) -> str:
    v = info["versions"]
    return (f"{info['cpu']}, {info['logical_cpus']} logical CPUs ({info['physical_cores']} physical cores "
            f"reported), {info['memory_gb']:.1f} GB memory; {info['os']}; Python {info['python']}, "
            f"TensorFlow {v['tensorflow']}, Keras {v['keras']}, numpy {v['numpy']}, papermill {v['papermill']}, "
            f"jupyter-book {v['jupyter-book']}, myst-nb {v['myst-nb']}; vaelib {v['vaelib']} at {info['commit']}")
