"""The library's layout (vaelib/__init__.py): layers that import only downwards, chapters that never
reach into the runtime layer, modules short enough to read and each opening with what it holds."""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vaelib"
# the layers from the bottom up; a module may import from its own layer and the ones below
LAYERS = ["_runtime", "data", "maths", "models", "measures", "claims", "plots", "widgets"]
TOP = {"parameters", "glue", "probe"}  # the chapters' own surface, above every layer
MAX_LINES = 400
MODULES = sorted(PACKAGE.rglob("*.py"))


def _layer(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _rank(layer: str) -> int:
    return len(LAYERS) if layer in TOP else LAYERS.index(layer)


def _vaelib_imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "vaelib":
            parts = node.module.split(".")
            yield from ([parts[1]] if len(parts) > 1 else [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            yield from (a.name.split(".")[1] for a in node.names if a.name.startswith("vaelib."))


@pytest.mark.parametrize("path", [p for p in MODULES if p.parent != PACKAGE or p.name != "__init__.py"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_its_own_layer_and_those_below(path):
    layer = _layer(path)
    upward = sorted({t for t in _vaelib_imports(ast.parse(path.read_text())) if _rank(t) > _rank(layer)})
    assert not upward, f"{path.relative_to(ROOT)} ({layer}) imports from the layers above it: {upward}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_is_short_and_opens_with_what_it_holds(path):
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_LINES, f"{path.relative_to(ROOT)} has more than {MAX_LINES} lines"
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring and docstring.split("\n\n")[0].rstrip().endswith((".", ":")), \
        f"{path.relative_to(ROOT)} does not open with a sentence saying what it holds"


def test_the_layer_list_is_the_package():
    assert {_layer(p) for p in MODULES} - {"__init__"} == set(LAYERS) | TOP


@pytest.mark.parametrize("chapter", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.name)
def test_a_chapter_never_imports_the_runtime_layer(chapter):
    code = "\n".join("".join(c["source"]) for c in json.loads(chapter.read_text())["cells"] if c["cell_type"] == "code")
    assert not re.search(r"vaelib\._runtime|from vaelib import _runtime", code), chapter.name


def test_memory_is_handed_back_in_one_place():
    places = [p for p in ROOT.rglob("*.py") if ".venv" not in p.parts and "_build" not in p.parts
              and "malloc_trim" in p.read_text()]
    assert [p.relative_to(ROOT).as_posix() for p in places if p.parts[-2] != "tests"] == ["vaelib/_runtime/memory.py"]
