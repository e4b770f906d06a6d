"""The determinism probe: a few seconds of seeded training and evaluation, reduced to one digest.

Two hosts that give the same digest train the same bits from the same seed, so the chapters'
stored outputs hold there verbatim; ``book/stored_outputs.json`` keeps the digest of the host that
made them and the notebook tests compare against it (``book/conftest.py``). The probe touches each
path whose arithmetic a CPU could decide (:mod:`vaelib._runtime.host`): the XLA-compiled training step of the
report's VAE, a step that TensorFlow runs as a plain graph (the Bernoulli VAE), an eager encoder
pass, and NumPy's elementwise loops and OpenBLAS. It needs no data set: its images are seeded noise.

    python -m vaelib.probe          # prints the digest, its parts and this host as JSON
"""

from __future__ import annotations

import hashlib
import json
import platform
import time

import numpy as np

from vaelib._runtime import host

N_TRAIN, N_TEST, EPOCHS, SEED = 4096, 512, 2, 0


def _digest(*arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def _images() -> tuple[np.ndarray, np.ndarray]:
    """Seeded uint8 noise as training and test pixels (integer draws: the same bits on every host)."""
    pixels = np.random.default_rng(SEED).integers(0, 256, size=(N_TRAIN + N_TEST, 784), dtype=np.uint8)
    return pixels[:N_TRAIN], pixels[N_TRAIN:]


def _numpy_part() -> str:
    rng = np.random.default_rng(SEED)
    x = np.abs(rng.standard_normal(50_000))
    values = [f(x) for f in (np.exp, np.log, np.log1p, np.expm1, np.tanh, np.sin)]
    values.append(rng.standard_normal((300, 400)) @ rng.standard_normal((400, 200)))
    return _digest(*values)


def run() -> dict:
    """Train and evaluate the probe models; return the digest, each part's digest and the seconds taken."""
    from vaelib.data import to_unit_interval
    from vaelib.models.report_settings import report_config
    from vaelib.models.training import train

    start = time.perf_counter()
    x_train, x_test = _images()
    parts = {}
    xla = train(report_config(beta=1.0, epochs=EPOCHS, seed=SEED), x_train, x_test, use_cache=False)
    parts["xla_training"] = _digest(*xla.snapshots[EPOCHS])
    graph = train(report_config(beta=1.0, epochs=EPOCHS, seed=SEED, likelihood="bernoulli"), x_train, x_test,
                  use_cache=False)
    parts["graph_training"] = _digest(*graph.snapshots[EPOCHS])
    model = xla.model()
    mu, log_var = model.encode(to_unit_interval(x_test))
    parts["evaluation"] = _digest(np.asarray(mu), np.asarray(log_var), np.asarray(model.decode(mu)))
    parts["numpy"] = _numpy_part()
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    return {"digest": digest, "parts": parts, "seconds": round(time.perf_counter() - start, 1)}


def cpu_model() -> str:
    """The CPU's model name, vendor, family and model number from /proc/cpuinfo (else what Python knows)."""
    fields = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                name, _, value = line.partition(":")
                if not line.strip():
                    break
                fields[name.strip()] = value.strip()
    except OSError:
        pass
    if "model name" not in fields:
        return platform.processor() or platform.machine()
    return f"{fields['model name']} ({fields.get('vendor_id', '?')}, family {fields.get('cpu family', '?')}, " \
           f"model {fields.get('model', '?')})"


def describe_host() -> dict:
    """This host as the determinism record lists it: CPU, its widest vector ISA, the pin, library versions."""
    import keras
    import tensorflow as tf

    flags = host.cpu_flags()
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "below AVX2"
    return {"cpu": cpu_model(), "isa": isa, "pin": host.effective(), "python": platform.python_version(),
            "tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__}


if __name__ == "__main__":
    print(json.dumps({"host": describe_host(), **run()}, indent=2))
