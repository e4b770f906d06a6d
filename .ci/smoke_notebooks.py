"""Execute every chapter listed in book/smoke_parameters.yml through papermill with small values,
twice in the same kernel, from a fresh temporary working directory.

Each chapter must appear there (an empty mapping means "its defaults are already cheap"), so a
new chapter cannot silently skip the smoke run. For each chapter a notebook is built from the
chapter's cells followed by the same cells again, without the second copy's `parameters` cell
(which would reset the smoke values to the publication defaults): papermill injects the smoke
parameters once, after the first `parameters` cell, and the kernel then runs the chapter top to
bottom a second time. That proves the chapter can be re-run in a live kernel (no state that only
works once) and does not depend on the working directory (relative paths fail in the temporary
folder). The second run reuses the models the first one trained (vaelib's cache), so it is cheap.
Outputs go to a temporary folder; the stored notebooks are never touched.
"""

import argparse
import copy
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
import papermill
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import prepare_cache  # noqa: E402  (scripts/prepare_cache.py: which cache entries hold a trained network)


def run_twice(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The chapter's cells, then the same cells again without the `parameters` cell."""
    doubled = copy.deepcopy(notebook)
    second = []
    for cell in notebook.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        cell = copy.deepcopy(cell)
        if "id" in cell:
            cell["id"] = f"rerun-{uuid.uuid4().hex[:12]}"  # cell ids must stay unique
        second.append(cell)
    marker = nbformat.v4.new_markdown_cell("# Second run in the same kernel (smoke test)")
    if notebook.get("nbformat_minor", 0) >= 5:
        marker["id"] = f"rerun-{uuid.uuid4().hex[:12]}"
    else:
        marker.pop("id", None)
    doubled.cells = doubled.cells + [marker] + second
    return doubled


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chapters", help="only these chapters, by number (e.g. 03,06); default: every chapter")
    ap.add_argument("--expect-python", help="fail unless the kernel that ran each chapter is this Python (e.g. 3.12)")
    ap.add_argument("--after-build", action="store_true",
                    help="the cache was filled by Binder's build step (postBuild): fail if a chapter other than those "
                         "it leaves out (scripts/prepare_cache.py, LEFT_OUT) trains a model")
    args = ap.parse_args()
    parameters = yaml.safe_load((ROOT / "book" / "smoke_parameters.yml").read_text()) or {}
    chapters = sorted(p.name for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    missing = [c for c in chapters if c not in parameters]
    if missing:
        print(f"chapters without smoke parameters in book/smoke_parameters.yml: {missing}", file=sys.stderr)
        return 1
    if args.chapters:
        wanted = {n.strip().zfill(2) for n in args.chapters.split(",")}
        unknown = wanted - {c[:2] for c in chapters}
        if unknown:
            print(f"--chapters: no chapter numbered {sorted(unknown)}; the book has {[c[:2] for c in chapters]}",
                  file=sys.stderr)
            return 1
        chapters = [c for c in chapters if c[:2] in wanted]
    may_train = set(prepare_cache.LEFT_OUT) if args.after_build else None
    failures = []
    with tempfile.TemporaryDirectory() as out:
        for chapter in chapters:
            start = time.perf_counter()
            work = Path(tempfile.mkdtemp(prefix=f"smoke-{chapter[:2]}-", dir=out))  # a fresh working directory
            source = work.parent / f"twice-{chapter}"
            try:
                notebook = nbformat.read(ROOT / "book" / chapter, as_version=4)
                nbformat.write(run_twice(notebook), source)
                before = prepare_cache.trained_models(prepare_cache.cache_dir())
                ran = papermill.execute_notebook(source, work.parent / chapter, parameters=parameters[chapter] or {},
                                                 cwd=work, progress_bar=False)
                trained = len(prepare_cache.trained_models(prepare_cache.cache_dir()) - before)
                if may_train is not None and chapter[:2] not in may_train and trained:
                    raise RuntimeError(f"it trained {trained} models, although Binder's build step prepares them")
                version = ran.metadata.get("language_info", {}).get("version", "?")
                if args.expect_python and not version.startswith(args.expect_python + "."):
                    raise RuntimeError(f"the kernel ran Python {version}, not {args.expect_python}")
                status = f"ok (ran twice in one kernel, Python {version}; {trained} models trained)"
            except Exception as error:  # report every chapter, then fail
                failures.append(chapter)
                status = f"FAILED: {type(error).__name__}: {str(error)[:2000]}"
            print(f"{chapter}: {status} ({time.perf_counter() - start:.1f} s)", flush=True)
    print(f"{len(chapters) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
