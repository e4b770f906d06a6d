"""Execute every chapter listed in book/smoke_parameters.yml through papermill with small values.

Each chapter must appear there (an empty mapping means "its defaults are already cheap"), so a
new chapter cannot silently skip the smoke run. Outputs go to a temporary folder; the stored
notebooks are never touched.
"""

import sys
import tempfile
import time
from pathlib import Path

import papermill
import yaml

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parameters = yaml.safe_load((ROOT / "book" / "smoke_parameters.yml").read_text()) or {}
    chapters = sorted(p.name for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    missing = [c for c in chapters if c not in parameters]
    if missing:
        print(f"chapters without smoke parameters in book/smoke_parameters.yml: {missing}", file=sys.stderr)
        return 1
    failures = []
    with tempfile.TemporaryDirectory() as out:
        for chapter in chapters:
            start = time.perf_counter()
            try:
                papermill.execute_notebook(ROOT / "book" / chapter, Path(out) / chapter,
                                           parameters=parameters[chapter] or {}, cwd=out, progress_bar=False)
                status = "ok"
            except Exception as error:  # report every chapter, then fail
                failures.append(chapter)
                status = f"FAILED: {type(error).__name__}: {str(error)[:2000]}"
            print(f"{chapter}: {status} ({time.perf_counter() - start:.1f} s)", flush=True)
    print(f"{len(chapters) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
