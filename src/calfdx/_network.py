"""Build the pgmpy network from validated tables: the only module that imports pgmpy.

The network is a naive Bayes structure: the root node ``cause`` has one child per finding,
and every finding is conditionally independent of the others given the cause. CPD values are
assembled by state *name* (never by position in a file); state names are given to pgmpy
explicitly, so ``TabularCPD`` column order cannot be confused (pgmpy#1925).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ._exceptions import InvalidOptionError
from ._tables import CAUSE_NODE, Tables

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork

__all__ = ["build_network", "write_network"]

logging.getLogger("calfdx").addHandler(logging.NullHandler())


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
    cpds = [
        TabularCPD(
            CAUSE_NODE,
            len(cause_states),
            tables.prior.reshape(-1, 1),
            state_names={CAUSE_NODE: cause_states},
        )
    ]
    for finding in tables.findings:
        cpds.append(
            TabularCPD(
                finding.id,
                len(finding.states),
                tables.likelihood[finding.id],
                evidence=[CAUSE_NODE],
                evidence_card=[len(cause_states)],
                state_names={finding.id: list(finding.states), CAUSE_NODE: cause_states},
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
