"""Sizes in words, one way everywhere: decimal megabytes, as registries report sizes
and as the size budget (``size_budget_mb``) counts them.

Tables and messages show an image's size with ``human_size`` (kB below one MB: the
stand-in and test images are tiny, and "0.0 MB" would say nothing); budgets and
changes between releases are in MB.
"""

from __future__ import annotations

MB = 1_000_000


def megabytes(size: int | float) -> str:
    """``123.4 MB``."""
    return f"{size / MB:.1f} MB"


def signed_megabytes(delta: int) -> str:
    """``+1.2 MB`` or ``−0.3 MB`` (a minus sign, as the notes print it)."""
    sign = "+" if delta >= 0 else "−"
    return f"{sign}{megabytes(abs(delta))}"


def human_size(size: int) -> str:
    """MB for image-sized numbers, kB below one MB."""
    return megabytes(size) if size >= MB else f"{size / 1000:.1f} kB"


__all__ = ["MB", "human_size", "megabytes", "signed_megabytes"]
