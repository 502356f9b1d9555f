"""The notebooks run top to bottom, and are committed without outputs."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_notebooks_exist() -> None:
    """Check the notebooks the workbench promises are there."""
    assert [path.stem for path in NOTEBOOKS] == [
        "01_quickstart",
        "02_tuning_priors",
        "03_sensitivity_and_uncertainty",
        "04_evaluation_and_threshold",
        "05_learning_from_cases",
        "06_agreement_with_the_literature",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_saved_without_outputs(path: Path) -> None:
    """Check no code cell carries outputs or an execution count."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


@pytest.mark.skipif(
    os.environ.get("CALFDX_NOTEBOOKS_RUN_BY_DOCS") == "1",
    reason="make test's docs build has just executed every notebook (a failing cell fails it)",
)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_leaves_the_plotting_backend_alone(path: Path) -> None:
    """Check no notebook forces a backend: a person running it sees the figures inline."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        assert "matplotlib.use(" not in cell.source
        assert "%matplotlib" not in cell.source


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Execute every cell in a fresh kernel (this environment's Python), headless.

    The test runner, not the notebook, picks the headless backend: the kernel inherits
    MPLBACKEND (ipykernel sets its inline backend only when MPLBACKEND is unset).
    """
    monkeypatch.setenv("MPLBACKEND", "Agg")
    with warnings.catch_warnings():
        # Jupyter's own machinery warns about its paths and event loops; the notebook's
        # code runs in the kernel process, where errors still fail the cell.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        from nbclient import NotebookClient

        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
