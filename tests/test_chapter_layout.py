"""What a reader sees of a chapter's code: bookkeeping stays out of sight.

The cells that validate parameters and the runs of ``glue()``/``record()`` calls that hand numbers to
the prose are needed to run a chapter, not to learn from it. In the HTML book a cell tagged
``hide-input`` shows its code only when the reader opens it; every other cell must not hold more
than three such lines in a row.
"""

import ast
from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
HIDDEN = {"hide-input", "remove-input", "remove-cell"}
BOOKKEEPING_CALLS = {"glue", "record", "refuse_unknown_parameters"}
MAX_RUN = 3


def _is_bookkeeping(node: ast.stmt) -> bool:
    """A glue/record/validation call, an assignment from a ``check_*`` call, a loop of those, or a raise."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name):
        return node.value.func.id in BOOKKEEPING_CALLS
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name):
        return node.value.func.id.startswith("check_")
    if isinstance(node, (ast.For, ast.If)):
        return all(_is_bookkeeping(n) for n in node.body + node.orelse)
    return isinstance(node, ast.Raise)


def longest_bookkeeping_run(source: str) -> int:
    """Lines in the longest run of consecutive bookkeeping statements of ``source``."""
    best = current = 0
    for node in ast.parse(source).body:
        current = current + node.end_lineno - node.lineno + 1 if _is_bookkeeping(node) else 0
        best = max(best, current)
    return best


def test_the_rule_counts_runs_of_bookkeeping_lines():
    source = "x = 1\nglue('a', x)\nrecord('b', x)\nfor k in d:\n    glue(k, d[k])\ny = 2\nglue('c', y)\n"
    assert longest_bookkeeping_run(source) == 4
    assert longest_bookkeeping_run("n = check_int('n', n)\nseed = check_seed(seed)\nprint(n)\n") == 2
    assert longest_bookkeeping_run("print(1)\n") == 0


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_bookkeeping_is_out_of_sight(chapter):
    shown = [c for c in nbformat.read(chapter, as_version=4).cells
             if c.cell_type == "code" and not HIDDEN & set(c.metadata.get("tags", []))
             and "parameters" not in c.metadata.get("tags", [])]
    long_runs = {i: run for i, c in enumerate(shown) if (run := longest_bookkeeping_run(c.source)) > MAX_RUN}
    assert not long_runs, f"{chapter.name}: shown code cells with more than {MAX_RUN} bookkeeping lines in a row " \
                          f"(index among shown cells: lines): {long_runs}"


def test_every_chapter_installs_the_book_it_belongs_to_where_vaelib_is_missing():
    """Colab opens one notebook: its first code cell after the parameters clones the repository that
    _config.yml names and installs the pinned requirements, only when vaelib cannot be imported."""
    config = (BOOK.parent / "_config.yml").read_text(encoding="utf-8")
    url = next(line.split("url:", 1)[1].strip() for line in config.splitlines() if line.strip().startswith("url:"))
    for chapter in CHAPTERS:
        first = [c for c in nbformat.read(chapter, as_version=4).cells if c.cell_type == "code"][1].source
        assert first.startswith("try:\n    import vaelib"), chapter.name
        assert "except ModuleNotFoundError:" in first and f"!git clone --quiet --depth 1 {url} " in first, chapter.name
        assert "%pip install --quiet -r requirements.txt" in first, chapter.name


def test_no_output_shows_an_equation_label():
    """A label such as ``aevb-hidden-beta`` is how the text refers to an equation; a reader sees its number.
    No stored output (printed text, tables, glued values) may show a label name instead."""
    import re

    labels, outputs = set(), []
    for chapter in CHAPTERS:
        notebook = nbformat.read(chapter, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                labels |= set(re.findall(r"\$\$\s*\(([A-Za-z]\w*(?:-\w+)+)\)", cell.source))  # hyphenated: no common word
            for output in cell.get("outputs", []):
                text = output.get("text", "") + "".join(str(v) for k, v in output.get("data", {}).items()
                                                        if not k.startswith("image/"))
                outputs.append((chapter.name, text))
    assert len(labels) > 20  # the chapters label their equations
    shown = {(name, label) for name, text in outputs for label in labels if re.search(rf"\b{re.escape(label)}\b", text)}
    assert not shown, f"outputs that show an equation's label instead of its number: {sorted(shown)}"


def test_chapters_leave_running_times_and_machinery_to_the_running_page():
    """A chapter reads as a textbook: how long it runs, what is cached and how the code is compiled is
    said once, on the page "How to use this book" (book/how_to_use.md), not in the chapters' prose."""
    import re

    machine_talk = re.compile(r"\b\d+(?:[–-]\d+)?\s*(?:seconds?|minutes?)\b|two-core|\bcache[ds]?\b|\bGB\b|\bXLA\b|"
                              r"\bcompiled\b|cache key", re.IGNORECASE)
    found = []
    for chapter in CHAPTERS:
        for cell in nbformat.read(chapter, as_version=4).cells:
            if cell.cell_type == "markdown":
                found += [(chapter.name, m.group(0)) for m in machine_talk.finditer(cell.source)]
    assert not found, f"machine talk in chapter prose: {found}"
    assert machine_talk.search((BOOK / "how_to_use.md").read_text(encoding="utf-8"))  # it is said there


WIDE_FIGURE_PX = 1.5 * 688
"""A figure at least this wide (its PNG's pixels, 1.5 times the text column of vaelib.plots.COLUMN_PX)
is a multi-panel figure that the page would shrink by a third or more: its cell takes the page's full
width (sphinx-book-theme's ``full-width`` tag, 136% of the column)."""


def _figure_widths(cell) -> list[int]:
    import base64
    import struct

    return [struct.unpack(">II", base64.b64decode(o["data"]["image/png"])[16:24])[0]
            for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_wide_figures_take_the_full_width_and_only_they(chapter):
    from vaelib.plots import COLUMN_PX

    assert WIDE_FIGURE_PX == 1.5 * COLUMN_PX
    for i, cell in enumerate(nbformat.read(chapter, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        widths, tagged = _figure_widths(cell), "full-width" in cell.metadata.get("tags", [])
        wide = bool(widths) and max(widths) >= WIDE_FIGURE_PX
        assert wide == tagged, f"{chapter.name} cell {i}: figures {widths} px wide, full-width tag {tagged}"
