"""Allow ``python -m calfdx``, the same as the ``calfdx`` command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
