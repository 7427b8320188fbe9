"""The analysts' notebooks: committed without outputs, and they run top to bottom.

Each notebook is executed in a fresh Jupyter kernel (nbclient) running this interpreter, on a
small synthetic portfolio it simulates into a temporary folder; any cell error fails the test.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from risk_model.config import FORWARD_TARGETS

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
EXPECTED = ("explanations.ipynb", "backtest.ipynb")
#: Seconds any one cell may take (the notebooks take about a minute each on a loaded machine).
CELL_TIMEOUT = 600


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_analysts_notebooks_are_there() -> None:
    """Every promised notebook is in notebooks/."""
    names = {p.name for p in _notebooks()}
    assert set(EXPECTED) <= names


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs(path: Path) -> None:
    """Outputs are stripped before commit (python notebooks/strip_outputs.py)."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code"
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs]
    counted = [i for i, c in enumerate(nb.cells) if c.get("execution_count") is not None]
    assert dirty == [], f"{path.name}: cells {dirty} have outputs"
    assert counted == [], f"{path.name}: cells {counted} have execution counts"


def _execute(nb: nbformat.NotebookNode, folder: Path) -> None:
    """Run every cell in a fresh kernel; CellExecutionError (naming the cell) on any error."""
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()


def _with_parameters(nb: nbformat.NotebookNode, **values: str) -> nbformat.NotebookNode:
    """The notebook with a cell setting ``values`` right after its ``parameters`` cell."""
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "a notebook has exactly one cell tagged 'parameters'"
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    nb.cells.insert(tagged[0] + 1, nbformat.v4.new_code_cell(source))
    return nb


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    """Every cell runs without error, in order, in a fresh kernel, and shows something."""
    nb = nbformat.read(path, as_version=4)
    _execute(nb, tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []
    shown = {"display_data", "execute_result"}
    assert any(o.output_type in shown for c in code for o in c.outputs), "nothing was shown"


def test_strip_outputs_removes_what_a_run_left(tmp_path: Path) -> None:
    """The strip script empties outputs and execution counts and keeps the sources."""
    source = _notebooks()[0]
    nb = nbformat.read(source, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = i + 1
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    copy = tmp_path / source.name
    nbformat.write(nb, copy)
    script = NOTEBOOKS / "strip_outputs.py"
    result = subprocess.run(
        [sys.executable, str(script), str(copy)], capture_output=True, text=True, check=True
    )
    assert "stripped" in result.stdout
    stripped = nbformat.read(copy, as_version=4)
    assert [c.source for c in stripped.cells] == [c.source for c in nb.cells]
    assert all(not c.get("outputs") for c in stripped.cells)
    assert all(c.get("execution_count") is None for c in stripped.cells)
    again = tmp_path / "again.ipynb"
    shutil.copy(copy, again)
    rerun = subprocess.run(
        [sys.executable, str(script), str(again)], capture_output=True, text=True, check=True
    )
    assert rerun.stdout == ""


def test_backtest_notebook_runs_for_a_forward_target(tmp_path: Path) -> None:
    """The backtest walk-through also runs for the other kind of target (no early warning,
    no size ranges, no oracle): its cells adapt instead of failing."""
    nb = _with_parameters(
        nbformat.read(NOTEBOOKS / "backtest.ipynb", as_version=4), TARGET=FORWARD_TARGETS[0]
    )
    _execute(nb, tmp_path)
    printed = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert f"{FORWARD_TARGETS[0]}: fold" in printed
    assert "no size ranges for this target" in printed
