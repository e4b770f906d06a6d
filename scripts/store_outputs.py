"""Execute chapters in place at their default parameters, storing the outputs the book shows.

    python scripts/store_outputs.py book/03_gaussian_kl.ipynb [more notebooks ...]

The kernel runs with ``--IPKernelApp.capture_fd_output=False``: TensorFlow's C++ start-up logs
go to the process's stderr, not into the notebook. nbval's kernels behave the same way, so the
stored outputs are what `pytest --nbval book/` compares against. Each notebook runs from a
temporary working directory, which proves it does not depend on one, and is written only if
every cell succeeded (to a temporary file first, then renamed).
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def store(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        NotebookClient(notebook, kernel_name="python3", timeout=3600, record_timing=False, resources={"metadata": {"path": workdir}},
                       extra_arguments=["--IPKernelApp.capture_fd_output=False"]).execute()
    seconds = time.perf_counter() - start
    temporary = path.with_name(f".{path.name}.tmp")
    nbformat.write(notebook, temporary)
    os.replace(temporary, path)
    return seconds


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__)
    missing = [name for name in sys.argv[1:] if not (name.endswith(".ipynb") and Path(name).is_file())]
    if missing:
        sys.exit(f"not a notebook file: {', '.join(map(repr, missing))} (give paths of existing .ipynb files)")
    for name in sys.argv[1:]:
        print(f"{name}: executed and stored in {store(Path(name)):.1f} s", flush=True)
