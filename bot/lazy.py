"""Package names loaded on first use (PEP 562), so that importing one submodule
of a package does not load all of them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``name`` from its
    submodule ``exports[name]`` (relative, e.g. ``".build"``) when first asked."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name], package), name)
        setattr(sys.modules[package], name, value)  # asked once: a plain attribute from now
        return value

    return __getattr__
