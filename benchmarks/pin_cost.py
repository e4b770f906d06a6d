"""What vaelib's host pin (vaelib/_runtime/host.py) costs in training speed on this machine.

    python benchmarks/pin_cost.py [--rounds 6]

Runs the training and peak parts of ``benchmarks/run_all.py`` (vaelib's VAE against the keras.io-style
reference, batch 128, full MNIST) in fresh processes, alternately with the pin (its variables set
before the process starts) and without it (``VAELIB_PIN_HOST=0``, the variables unset), twice each,
and records the medians in ``benchmarks/pin_cost.json`` with the CPU and the date. On a CPU with
AVX-512 the pin gives up AVX-512 kernels in oneDNN, XLA and NumPy: the figures say what that costs.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from vaelib._runtime import host

from vaelib import probe  # noqa: E402
from suite.training import summarize_training  # noqa: E402 (run_all.py's training part)


def run(pinned: bool, rounds: int) -> dict:
    env = {name: value for name, value in os.environ.items() if name not in host.pinned_environment()}
    env.update(host.pinned_environment() if pinned else {host.PIN_SWITCH: "0"})
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, str(HERE / "run_all.py"), "--only", "training,peak", "--rounds", str(rounds),
                        "--output-dir", out], env=env, check=True, stdout=subprocess.DEVNULL)
        training = json.loads((Path(out) / "results.json").read_text())["training"]
    summary = summarize_training(training)
    return {"vaelib_images_per_s": summary["members"]["vaelib"]["rate"]["median"],
            "reference_images_per_s": summary["members"]["reference"]["rate"]["median"],
            "ratio_to_reference": summary["ratio"]["median"], "peak_gflops": summary["peak_gflops"],
            "fraction_of_peak": summary["fraction"]["median"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    runs = {"pinned": [], "unpinned": []}
    for _ in range(2):
        for setting in ("pinned", "unpinned"):
            runs[setting].append(run(setting == "pinned", args.rounds))
            print(setting, runs[setting][-1], flush=True)
    medians = {setting: {key: statistics.median(r[key] for r in results) for key in results[0]}
               for setting, results in runs.items()}
    record = {"date": datetime.date.today().isoformat(), "cpu": probe.cpu_model(),
              "avx512": "avx512f" in host.cpu_flags(), "rounds": args.rounds, "runs": runs, "medians": medians,
              "pinned_over_unpinned": medians["pinned"]["vaelib_images_per_s"] / medians["unpinned"]["vaelib_images_per_s"]}
    path = HERE / "pin_cost.json"
    history = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(history + [record], indent=1) + "\n")
    print(f"vaelib training with the pin / without: {record['pinned_over_unpinned']:.3f} "
          f"({medians['pinned']['vaelib_images_per_s']:,.0f} vs {medians['unpinned']['vaelib_images_per_s']:,.0f} "
          f"images/s); written to {path.name}")


if __name__ == "__main__":
    main()
