"""docs/tutorial.ipynb runs top to bottom (issue 46): executed with nbclient on a tiny run, as a reader would
run it, in a fresh folder."""

from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' (nbclient, ipykernel)")


def test_tutorial_notebook_executes(tmp_path, monkeypatch):
    import nbformat

    nb = nbformat.read(Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb", as_version=4)
    monkeypatch.setenv("FACTORDIFF_TUTORIAL_TINY", "1")
    monkeypatch.setenv("FACTORDIFF_TUTORIAL_OUT", str(tmp_path / "runs"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = " ".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "Run(" in text and "onsets" in text  # the repr and the summary were shown
    assert (tmp_path / "runs" / "b" / "config.yaml").exists()  # the comparison's second run was trained
