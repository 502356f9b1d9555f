"""Export to BIF and XMLBIF: pgmpy reads it back, and pyAgrum (independent) agrees."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import calfdx

from .strategies import evidence

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pyagrum as gum
    from pgmpy.readwrite import BIFReader, XMLBIFReader

VOCABULARY = {name: f.states for name, f in calfdx.vocabulary().items()}


@pytest.fixture(scope="module")
def exported(model: calfdx.Model, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("export")
    xml = model.export(folder / "calfdx.xmlbif")
    bif = model.export(folder / "calfdx.bif")
    pyagrum_xml = folder / "calfdx.bifxml"  # pyAgrum's name for XMLBIF
    shutil.copy(xml, pyagrum_xml)
    return {"xml": xml, "bif": bif, "pyagrum_xml": pyagrum_xml}


@pytest.mark.parametrize(("kind", "reader"), [("xml", XMLBIFReader), ("bif", BIFReader)])
def test_pgmpy_reads_back_the_same_network(
    model: calfdx.Model, exported: dict[str, Path], kind: str, reader: type
) -> None:
    """Check pgmpy reads the file back to the same nodes, edges and CPDs."""
    original = model.to_pgmpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = reader(str(exported[kind])).get_model()
    assert set(again.nodes()) == set(original.nodes())
    assert set(again.edges()) == set(original.edges())
    for cpd in original.get_cpds():
        other = again.get_cpds(cpd.variable)
        assert other.state_names == cpd.state_names
        assert np.allclose(other.get_values(), cpd.get_values(), atol=1e-12)


def pyagrum_posterior(
    engine: gum.LazyPropagation, bn: gum.BayesNet, findings: dict[str, Any]
) -> dict[str, Any]:
    engine.eraseAllEvidence()
    engine.setEvidence(findings)
    engine.makeInference()
    variable = bn.variable("cause")
    labels = [variable.label(i) for i in range(variable.domainSize())]
    return dict(zip(labels, engine.posterior("cause").toarray().tolist(), strict=True))


@pytest.mark.parametrize(("kind", "tolerance"), [("pyagrum_xml", 1e-9), ("bif", 1e-6)])
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(findings=evidence(VOCABULARY))
def test_pyagrum_agrees_with_diagnose(
    model: calfdx.Model,
    exported: dict[str, Path],
    kind: str,
    tolerance: float,
    findings: dict[str, str],
) -> None:
    """Check an independent engine on the exported file gives the same posteriors.

    XMLBIF keeps full precision (1e-9); pyAgrum parses BIF numbers as 32-bit floats (1e-6).
    """
    bn = gum.loadBN(str(exported[kind]))
    theirs = pyagrum_posterior(gum.LazyPropagation(bn), bn, findings)
    ours = model.diagnose(findings).posterior
    for cause, p in theirs.items():
        assert abs(ours[cause] - p) <= tolerance


def test_bad_export_paths(model: calfdx.Model, tmp_path: Path) -> None:
    """Check an unknown suffix is a clear error."""
    with pytest.raises(calfdx.InvalidOptionError, match=r"\.bif \(BIF\) or \.xml / \.xmlbif"):
        model.export(tmp_path / "calfdx.json")
