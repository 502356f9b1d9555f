"""The documentation site's generated pages: the API reference and the Evidence section.

The full build (``make docs``, warnings as errors) runs in ``make test``; these tests check
the generators that feed it, quickly and without Sphinx building anything.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

import calfdx

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("sphinx", reason="the docs dependency group is not installed")
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import calfdx_docs  # noqa: E402  (after the path above)


def _documented(page: str) -> set[str]:
    """The names an autosummary block of the page documents."""
    return set(re.findall(r"^   (calfdx[\w.]*)$", page, flags=re.MULTILINE))


def test_every_public_name_is_in_the_api_reference() -> None:
    documented = _documented(calfdx_docs.api_page())
    missing = [name for name in calfdx.__all__ if f"calfdx.{name}" not in documented]
    assert not missing, f"not in the API reference: {missing}"
    assert "calfdx.cli" in documented
    assert "calfdx.CalfdxWarning" not in documented  # deprecated: importable, not documented


def test_every_public_submodule_is_in_the_api_reference() -> None:
    documented = _documented(calfdx_docs.api_page())
    public = {
        f"calfdx.{path.stem}"
        for path in (ROOT / "src" / "calfdx").glob("*.py")
        if not path.stem.startswith("_")
    }
    assert public <= documented


def test_evidence_has_a_page_per_finding_and_per_table(shipped_dir: Path) -> None:
    pages = calfdx_docs.evidence_pages(shipped_dir)
    model = calfdx.load_model()
    for finding in model.vocabulary:
        assert f"findings/{finding}" in pages
        assert f":where: finding={finding}" in pages[f"findings/{finding}"]
    for table in ("causes", "priors", "sources", "red_flags", "triage"):
        assert table in pages
    for setting in model.settings:
        assert f":where: setting={setting}" in pages["priors"]


def test_evidence_is_generic_in_columns_and_files(shipped_dir: Path, tmp_path: Path) -> None:
    """A new column, a new CSV file with a finding column, and findings still render."""
    folder = tmp_path / "priors"
    shutil.copytree(shipped_dir, folder, ignore=shutil.ignore_patterns("*.md"))
    findings = folder / "findings.csv"
    lines = findings.read_text().splitlines()
    findings.write_text("\n".join([f"{lines[0]},parent"] + [f"{x}," for x in lines[1:]]) + "\n")
    (folder / "targets.csv").write_text(
        "target,finding,value,source_type,source_id,reasoning\n"
        "wells_auc,swelling,0.7,published,goodacre2005,a toy row\n"
    )
    pages = calfdx_docs.evidence_pages(folder)
    assert "targets" in pages
    assert "```{calfdx-csv} targets.csv" in pages["targets"]
    assert "targets.csv" in pages["findings/swelling"]  # rows of any table with a finding column
    assert "targets" in pages["index"]
    header, rows = calfdx_docs.read_csv(findings)
    assert header[-1] == "parent"
    assert len(rows) == len(calfdx.load_model().vocabulary)


def test_question_text_is_escaped_for_myst(shipped_dir: Path) -> None:
    page = calfdx_docs.evidence_pages(shipped_dir)["findings/fever"]
    assert r"38 °C or more\)" in page  # punctuation escaped, so never read as markup
