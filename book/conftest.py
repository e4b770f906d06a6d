"""How `pytest --nbval book/` compares the chapters with their stored outputs.

The stored outputs were made on one host with full MNIST (``stored_outputs.json`` names the host and
the determinism probe's digest there, :mod:`vaelib.probe`). Before the first chapter runs, this
plugin runs the probe here and prints one line saying which comparison follows:

* **same digest, full MNIST**: every output nbval compares is compared verbatim.
* **another digest** (another CPU family, other library versions): models trained here differ
  in their bits from the stored ones, as if trained from another seed. Every output is then
  compared with numbers allowed to differ by :data:`OTHER_HOST_RTOL` of their size (plus one unit
  of the last printed digit; two rounding residues below :data:`ROUNDING_LEVEL` agree); every
  word, verdict and table cell that is not a number must still be identical.
* **the 5,000-digit fallback data**: the stored outputs are for full MNIST. Chapters that do not
  load MNIST are compared as above; the others run top to bottom (every assert in them must
  hold) without comparing their outputs.
"""

from __future__ import annotations

import json
import os
import re
import types
from pathlib import Path

import vaelib  # noqa: F401  (first: the kernels this process starts inherit its host pin)
from vaelib.models import progress

# The kernels nbval starts inherit the environment: no live training progress in the outputs compared.
os.environ[progress.ENV_VAR] = "0"

STORED_OUTPUTS = Path(__file__).with_name("stored_outputs.json")
OTHER_HOST_RTOL = 0.25
# Numbers this small are rounding residues (the chapters' asserts bound them); on another host they
# agree when both are below it.
ROUNDING_LEVEL = 1e-6
# A chapter that loads MNIST calls one of these (vaelib.models.report_settings / vaelib.data).
MNIST_ENTRY_POINTS = ("unit_mnist(", "load_mnist(", "load_mnist_dataset(")
NUMBER = re.compile(r"[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:[eE][-+]?\d+)?|[-+\u2212]?\.\d+(?:[eE][-+]?\d+)?")


def numbers_of(text: str) -> tuple[str, list[str]]:
    """``text`` with every number replaced by ``#``, and the numbers as printed."""
    return NUMBER.sub("#", text), NUMBER.findall(text)


def _value(printed: str) -> float:
    return float(printed.replace(",", "").replace("\u2212", "-"))


def _last_digit_unit(printed: str) -> float:
    mantissa, _, exponent = printed.replace(",", "").lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def numbers_agree(reference: str, computed: str, rtol: float = OTHER_HOST_RTOL) -> str | None:
    """None if the texts agree word for word and number by number within ``rtol``; else why not."""
    words_ref, numbers_ref = numbers_of(reference)
    words_new, numbers_new = numbers_of(computed)
    if words_ref != words_new or len(numbers_ref) != len(numbers_new):
        return "the words differ (not only the numbers)"
    for a, b in zip(numbers_ref, numbers_new):
        x, y = _value(a), _value(b)
        if max(abs(x), abs(y)) < ROUNDING_LEVEL:
            continue
        if abs(x - y) > rtol * max(abs(x), abs(y)) + _last_digit_unit(a):
            return f"{b} differs from the stored {a} by more than {rtol:.0%}"
    return None


def _texts(cell_item, outputs) -> list[tuple[str, str]]:
    """(key, text) of every output nbval compares, in order (its own flattening of the outputs)."""
    from nbval.plugin import transform_streams_for_comparison

    skip = cell_item.parent.skip_compare
    texts = []
    for output in transform_streams_for_comparison(outputs):
        for key, value in output.items():
            if key in skip:
                continue
            items = value.items() if key == "data" else [(key, value)]
            texts += [(k, v if isinstance(v, str) else json.dumps(v, sort_keys=True)) for k, v in items if k not in skip]
    return texts


def compare_within_tolerance(self, test, ref, skip_compare=None):
    """nbval's comparison for another host: verbatim first, else words exact and numbers within OTHER_HOST_RTOL."""
    if type(self).compare_outputs(self, test, ref, skip_compare):
        return True
    computed, stored = _texts(self, test), _texts(self, ref)
    if [k for k, _ in computed] != [k for k, _ in stored]:
        return False  # nbval's own message (kept in comparison_traceback) says which outputs differ
    for (key, new), (_, old) in zip(computed, stored):
        why = numbers_agree(old, new)
        if why:
            self.comparison_traceback.append(f"{key}: {why} (another host: numbers within {OTHER_HOST_RTOL:.0%})")
            return False
    self.comparison_traceback = []
    return True


def plan(stored: dict, digest: str, full_mnist: bool) -> tuple[str, bool]:
    """(the line to print, whether the host reproduces the stored bits)."""
    same_host = digest == stored["probe_digest"]
    made = f"stored outputs made on {stored['cpu']} ({stored['date']}, probe {stored['probe_digest']})"
    if same_host:
        line = f"{made}; this host gives the same probe digest: outputs compared verbatim"
    else:
        line = (f"{made}; this host gives probe {digest}, so its models differ in their bits: numbers compared "
                f"within {OTHER_HOST_RTOL:.0%}, all other text verbatim")
    if not full_mnist:
        line += ("; ONLY THE 5,000-DIGIT FALLBACK DATA is available and the stored outputs are for full MNIST: "
                 "chapters that load MNIST run (every assert must hold) without comparing their outputs")
    return line, same_host


def uses_mnist(notebook_path: Path) -> bool:
    import nbformat

    cells = nbformat.read(notebook_path, as_version=4).cells
    return any(entry in cell.source for cell in cells if cell.cell_type == "code" for entry in MNIST_ENTRY_POINTS)


def pytest_collection_modifyitems(session, config, items):
    from nbval.plugin import IPyNbCell

    cells = [item for item in items if isinstance(item, IPyNbCell) and Path(item.fspath).parent == STORED_OUTPUTS.parent]
    if not cells or config.option.nbval_lax:
        return
    import warnings

    from vaelib import data, probe

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.MnistFallbackWarning)
        full_mnist = data.load_mnist_dataset().is_full
    line, same_host = plan(json.loads(STORED_OUTPUTS.read_text()), probe.run()["digest"], full_mnist)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"nbval: {line}")
    mnist_chapters = {path for path in {Path(item.fspath) for item in cells} if uses_mnist(path)}
    for item in cells:
        if not full_mnist and Path(item.fspath) in mnist_chapters:
            item.options["check"] = False
        elif not same_host:
            item.compare_outputs = types.MethodType(compare_within_tolerance, item)
