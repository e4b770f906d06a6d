"""Every chapter refuses, before any work, a parameter name it does not have and a bad value of each
parameter it has, with an error that names the parameter.

The unknown name goes through papermill, as a reader would pass it. The bad values are set in one
kernel per chapter exactly as papermill sets them: the chapter's ``parameters`` cell, an assignment
cell, then the chapter's first cell of code, which must raise naming the parameter.
"""

import ast
import queue
from pathlib import Path

import nbformat
import papermill
import pytest
from jupyter_client.manager import start_new_kernel

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
# Values no chapter parameter accepts: a word, a negative number, an empty list.
BAD_VALUES = ("'four'", "-5", "[]")


def _cells(path):
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), f"{path.name}: first code cell is not tagged parameters"
    return code[0].source, code[1].source


def _parameter_names(source):
    return [t.id for node in ast.parse(source).body if isinstance(node, ast.Assign) for t in node.targets]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_unknown_parameter_is_refused_through_papermill(chapter, tmp_path):
    with pytest.raises(papermill.PapermillExecutionError) as raised:
        papermill.execute_notebook(str(chapter), str(tmp_path / "out.ipynb"), parameters={"n_trian": 2048},
                                   cwd=str(tmp_path), progress_bar=False, kernel_name="python3")
    assert raised.value.ename == "NameError"
    assert "unknown parameter 'n_trian': this chapter accepts" in raised.value.evalue
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    ran = [c for c in executed.cells if c.cell_type == "code" and c.get("execution_count")]
    assert len(ran) == 3   # parameters, papermill's injected cell, and the first cell, which refused


def _run(client, code):
    """Execute ``code``; return (ename, evalue) of its error, or None."""
    reply = client.execute_interactive(code, timeout=300, output_hook=lambda msg: None)
    content = reply["content"]
    return (content["ename"], content["evalue"]) if content["status"] == "error" else None


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_parameter_refuses_bad_values(chapter):
    parameters, first_cell = _cells(chapter)
    names = _parameter_names(parameters)
    assert names, f"{chapter.name}: no parameters"
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        assert _run(client, parameters + "\n" + first_cell) is None, "the defaults must pass"
        problems = []
        for name in names:
            for value in BAD_VALUES:
                _run(client, "%reset -f")
                error = _run(client, f"{parameters}\n{name} = {value}\n{first_cell}")
                if error is None:
                    problems.append(f"{name} = {value} was accepted")
                elif error[0] not in ("TypeError", "ValueError") or name not in error[1]:
                    problems.append(f"{name} = {value}: {error[0]}: {error[1]} (does not name {name})")
        assert not problems, f"{chapter.name}:\n" + "\n".join(problems)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
