"""Record this host in the determinism record: the probe's digest with and without vaelib's host pin.

    python benchmarks/determinism.py

Runs ``python -m vaelib.probe`` in fresh processes: twice pinned (the digest must repeat) and once
with ``VAELIB_PIN_HOST=0`` (what this CPU would decide on its own), and adds a row per setting to
``benchmarks/determinism.json`` (replacing an earlier row for the same CPU, setting and library
versions). Hosts whose pinned digests agree train the same bits from a seed; the digest the stored
notebook outputs were made with is in ``book/stored_outputs.json``.
"""

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

RECORD = Path(__file__).with_name("determinism.json")


def probe(pinned: bool) -> dict:
    env = {**os.environ, "VAELIB_PIN_HOST": "1" if pinned else "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-m", "vaelib.probe"], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    first, second, unpinned = probe(True), probe(True), probe(False)
    if first["digest"] != second["digest"]:
        sys.exit(f"the pinned probe did not repeat on this host: {first['digest']} then {second['digest']}")
    today = datetime.date.today().isoformat()
    record = json.loads(RECORD.read_text()) if RECORD.exists() else {"rows": []}
    new = []
    for result, setting in ((first, "pinned"), (unpinned, "unpinned")):
        h = result["host"]
        new.append({"date": today, "cpu": h["cpu"], "isa": h["isa"], "setting": setting, "digest": result["digest"],
                    "parts": result["parts"], "probe_seconds": result["seconds"],
                    "versions": {k: h[k] for k in ("python", "tensorflow", "keras", "numpy")}, "pin": h["pin"]})
    same = lambda a, b: all(a[k] == b[k] for k in ("cpu", "isa", "setting", "versions"))  # noqa: E731
    record["rows"] = [r for r in record["rows"] if not any(same(r, n) for n in new)] + new
    record["rows"].sort(key=lambda r: (r["setting"], r["date"], r["cpu"]))
    RECORD.write_text(json.dumps(record, indent=1) + "\n")
    for row in new:
        print(f"{row['setting']:>9}: {row['digest']}  {row['cpu']}, {row['isa']}, {row['date']}")
    pinned_digests = {r["digest"] for r in record["rows"] if r["setting"] == "pinned"
                      and r["versions"] == new[0]["versions"]}
    print(f"pinned digests recorded for these library versions: {sorted(pinned_digests)}"
          + ("" if len(pinned_digests) == 1 else "  <- hosts that disagree: the pin is not enough"))


if __name__ == "__main__":
    main()
