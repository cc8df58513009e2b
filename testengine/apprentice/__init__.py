"""The apprentice's pages: one blueprint (`bp`), its routes in this package's modules."""

from __future__ import annotations

from . import results, views  # noqa: F401  (each registers its routes on bp)
from .blueprint import bp

__all__ = ["bp"]
