"""Build the pgmpy network from validated tables: the only module that imports pgmpy.

The root node ``cause`` has one child per finding; a finding with a ``parent`` in findings.csv
also has that finding as a parent (see ``_inference.py`` for the structure). CPD values are
assembled by state *name* (never by position in a file); state names are given to pgmpy
explicitly, so ``TabularCPD`` column order cannot be confused (pgmpy#1925).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ._exceptions import InvalidOptionError
from ._schema import CAUSE_NODE, Tables

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork

__all__ = ["build_network", "write_network"]


def build_network(tables: Tables) -> DiscreteBayesianNetwork:
    """Return a new pgmpy ``DiscreteBayesianNetwork`` for ``tables`` (checked with check_model).

    Each call builds a fresh network, so a caller may change it without affecting calfdx.
    """
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    cause_states = [cause.id for cause in tables.causes]
    network = DiscreteBayesianNetwork()
    network.add_node(CAUSE_NODE)
    network.add_edges_from([(CAUSE_NODE, finding.id) for finding in tables.findings])
    network.add_edges_from([(parent, child) for child, parent in tables.parents.items()])
    states = {finding.id: list(finding.states) for finding in tables.findings}
    cpds = [
        TabularCPD(
            CAUSE_NODE,
            len(cause_states),
            tables.prior.reshape(-1, 1),
            state_names={CAUSE_NODE: cause_states},
        )
    ]
    for finding in tables.findings:
        # A child's table is (states, parent states, causes); pgmpy's columns run over the
        # evidence with the first variable slowest, so evidence [parent, cause] is a reshape.
        parents = [finding.parent] if finding.parent else []
        table = tables.likelihood[finding.id]
        cpds.append(
            TabularCPD(
                finding.id,
                len(finding.states),
                table.reshape(len(finding.states), -1),
                evidence=[*parents, CAUSE_NODE],
                evidence_card=[*(len(states[p]) for p in parents), len(cause_states)],
                state_names={
                    finding.id: states[finding.id],
                    CAUSE_NODE: cause_states,
                    **{p: states[p] for p in parents},
                },
            )
        )
    network.add_cpds(*cpds)
    network.check_model()
    return network


def write_network(tables: Tables, path: str | Path) -> Path:
    """Write the network to BIF (``.bif``) or XMLBIF (``.xml``, ``.xmlbif``) with pgmpy."""
    from pgmpy.readwrite import BIFWriter, XMLBIFWriter

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".bif", ".xml", ".xmlbif"):
        msg = (
            f"Cannot export to {str(target)!r}: the suffix must be .bif (BIF) or .xml / .xmlbif "
            f"(XMLBIF). Got {suffix or 'no suffix'!r}."
        )
        raise InvalidOptionError(msg)
    network = build_network(tables)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".bif":
            BIFWriter(network).write(str(target))
        else:
            XMLBIFWriter(network).write(str(target))
    except OSError as error:  # no permission, a full disk, a name too long...
        msg = f"Cannot write {str(target)[:200]!r}: {error.strerror or type(error).__name__}."
        raise InvalidOptionError(msg) from None
    return target
