"""Count, per chapter, the meaningful outputs that `pytest --nbval book/` compares and those it ignores.

    python scripts/count_compared_outputs.py [--require PERCENT] [book/NN_*.ipynb ...]

A meaningful output is one a reader reads: printed text (stdout/stderr), a displayed Markdown or
HTML table, a glued number (myst-nb's ``application/papermill.record``), or a plain-text result.
A figure (whose text part is only ``<Figure size ...>``) and a widget are not counted: nbval does
not compare images or widget models. An output is ignored when its cell carries
``# NBVAL_IGNORE_OUTPUT``, ``# NBVAL_SKIP`` or the matching ``nbval-*`` tag. With ``--require``, the
command fails when a chapter compares less than that share of its meaningful outputs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

BOOK = Path(__file__).resolve().parents[1] / "book"
IGNORING = {"NBVAL_IGNORE_OUTPUT": "nbval-ignore-output", "NBVAL_SKIP": "nbval-skip"}
TEXT_TYPES = ("text/markdown", "text/html", "text/latex")


def is_meaningful(output) -> bool:
    """Whether a reader reads this output (see the module docstring)."""
    if output.output_type == "stream":
        return bool(output.text.strip())
    if output.output_type not in ("display_data", "execute_result"):
        return False
    data = output.get("data", {})
    if any(key.startswith("application/papermill.record") for key in data) or any(key in data for key in TEXT_TYPES):
        return True
    if "image/png" in data or "application/vnd.jupyter.widget-view+json" in data:
        return False
    return "text/plain" in data


def is_ignored(cell) -> bool:
    """Whether nbval leaves this cell's outputs uncompared."""
    comments = {line.strip().lstrip("#").strip() for line in cell.source.splitlines() if line.strip().startswith("#")}
    tags = set(cell.metadata.get("tags", []))
    return any(marker in comments or tag in tags for marker, tag in IGNORING.items())


def count(path: Path) -> tuple[int, int]:
    """(compared, ignored) meaningful outputs of one notebook."""
    compared = ignored = 0
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        n = sum(is_meaningful(output) for output in cell.get("outputs", []))
        if is_ignored(cell):
            ignored += n
        else:
            compared += n
    return compared, ignored


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--require", type=float, metavar="PERCENT",
                        help="fail if a chapter compares less than this share of its meaningful outputs")
    args = parser.parse_args(argv)
    if args.require is not None and not 0 <= args.require <= 100:
        parser.error(f"--require must lie in [0, 100], got {args.require}")
    paths = args.notebooks or sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file() or p.suffix != ".ipynb"]
    if missing:
        parser.error(f"not a notebook file: {', '.join(missing)}")
    total_compared = total_ignored = 0
    short = []
    print(f"{'chapter':<32} {'compared':>8} {'ignored':>8} {'share':>7}")
    for path in paths:
        compared, ignored = count(path)
        total_compared, total_ignored = total_compared + compared, total_ignored + ignored
        share = 100.0 * compared / max(compared + ignored, 1)
        print(f"{path.name:<32} {compared:>8} {ignored:>8} {share:>6.1f}%")
        if args.require is not None and share < args.require:
            short.append(f"{path.name} ({share:.1f}%)")
    share = 100.0 * total_compared / max(total_compared + total_ignored, 1)
    print(f"{'all chapters':<32} {total_compared:>8} {total_ignored:>8} {share:>6.1f}%")
    if short:
        print(f"below the required {args.require:g}%: {', '.join(short)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
