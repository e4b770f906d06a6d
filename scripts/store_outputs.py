"""Execute chapters in place at their default parameters, storing the outputs the book shows.

    python scripts/store_outputs.py book/03_gaussian_kl.ipynb [more notebooks ...]

The kernel runs with ``--IPKernelApp.capture_fd_output=False``: TensorFlow's C++ start-up logs
go to the process's stderr, not into the notebook. nbval's kernels behave the same way, so the
stored outputs are what `pytest --nbval book/` compares against. Each notebook runs from a
temporary working directory, which proves it does not depend on one, and is written only if
every cell succeeded (to a temporary file first, then renamed).

Stored outputs are made with full MNIST, and all chapters' on one kind of host: the determinism
probe's digest here (:mod:`vaelib.probe`) is written to ``book/stored_outputs.json``, which the
notebook tests compare against (``book/conftest.py``). Storing some chapters on a host whose digest
differs from the one recorded is refused: re-store every chapter there instead.
"""

import vaelib  # noqa: F401,I001  (first: this process and the kernels it starts get its host pin)

import datetime
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from vaelib import data, probe
from vaelib.models import progress

os.environ[progress.ENV_VAR] = "0"  # the kernels inherit it: no live training progress in what is stored

BOOK = Path(__file__).resolve().parents[1] / "book"
STORED_OUTPUTS = BOOK / "stored_outputs.json"


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.MnistFallbackWarning)
        if not data.load_mnist_dataset().is_full:
            sys.exit("only the 5,000-digit fallback MNIST is available: stored outputs are made with full MNIST "
                     "(set VAELIB_MNIST to a verified mnist.npz)")
    here = {"probe_digest": probe.run()["digest"], "cpu": probe.cpu_model(), "date": datetime.date.today().isoformat()}
    chapters = {path.resolve() for path in BOOK.glob("[0-9][0-9]_*.ipynb")}
    recorded = json.loads(STORED_OUTPUTS.read_text()) if STORED_OUTPUTS.exists() else None
    if recorded and recorded["probe_digest"] != here["probe_digest"] and not chapters <= {Path(n).resolve() for n in sys.argv[1:]}:
        sys.exit(f"the other chapters' outputs were stored on a host with probe digest {recorded['probe_digest']} "
                 f"({recorded['cpu']}, {recorded['date']}); this host gives {here['probe_digest']}: store every "
                 "chapter here (book/[0-9]*.ipynb), or store these on a host that matches")
    for name in sys.argv[1:]:
        print(f"{name}: executed and stored in {store(Path(name)):.1f} s", flush=True)
    if recorded is None or recorded["probe_digest"] != here["probe_digest"]:
        STORED_OUTPUTS.write_text(json.dumps(here, indent=1) + "\n")
        print(f"{STORED_OUTPUTS.name}: probe digest {here['probe_digest']} ({here['cpu']})")
