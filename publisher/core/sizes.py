"""Sizes and durations in words, one way everywhere: decimal megabytes, as registries
report sizes and as the size budget (``size_budget_mb``) counts them, and seconds with a
space before the unit (``30 s``), as ``resolve`` and the stack's launcher write them.

Tables and messages show an image's size with ``human_size`` (kB below one MB: the
stand-in and test images are tiny, and "0.0 MB" would say nothing); budgets and
changes between releases are in MB.
"""

from __future__ import annotations

from decimal import Decimal

MB = 1_000_000


def budget_bytes(megabytes: int | float) -> int:
    """The bytes of a budget of ``megabytes`` MB as matrix.yaml writes it: ``1.000001``
    is 1,000,001 bytes (its decimal digits, not the float nearest them, which is
    1,000,000.9999… bytes), a fraction of a byte left out."""
    return int(Decimal(repr(megabytes)) * MB)


def megabytes(size: int | float) -> str:
    """``123.4 MB``."""
    return f"{size / MB:.1f} MB"


def signed(value: float, places: int = 1) -> str:
    """``+1.2``, ``−0.3`` (a minus sign, U+2212, as the notes print it) or ``0.0``: a
    change that rounds to nothing has no sign (never ``−0.0`` or ``+0.0``)."""
    digits = f"{abs(value):.{places}f}"
    if not digits.strip("0."):
        return digits
    return ("+" if value > 0 else "−") + digits


def signed_megabytes(delta: int) -> str:
    """``+1.2 MB``, ``−0.3 MB`` or ``0.0 MB`` (``signed``)."""
    return f"{signed(delta / MB)} MB"


def signed_percent(percent: float) -> str:
    """``+4.2%``, ``−0.3%`` or ``0.0%`` (``signed``: the sign ``signed_megabytes`` gives)."""
    return f"{signed(percent)}%"


def human_size(size: int) -> str:
    """MB for image-sized numbers, kB below one MB."""
    return megabytes(size) if size >= MB else f"{size / 1000:.1f} kB"


def seconds(value: float, places: int | None = None) -> str:
    """``30 s``; ``places`` digits after the point (``2.5 s`` for 1, ``120 s`` for 0),
    or None: as few as ``value`` needs (``0.5 s``, ``30 s``)."""
    return f"{value:g} s" if places is None else f"{value:.{places}f} s"


__all__ = [
    "MB",
    "human_size",
    "megabytes",
    "seconds",
    "signed",
    "signed_megabytes",
    "signed_percent",
]
