"""How publisher reads its own settings, the ``PUBLISHER_*`` variables: one rule for all.

The blanks around a value (a space, a tab, the CR of an env file edited on Windows, the
newline of ``$'...\\n'`` or of a line pasted whole) are not part of it, and a value of
blanks only counts as unset, as the empty string does: ``resolve.BLANKS``, ASCII ones
alone, as the launcher reads its own settings. Inside the value each setting checks its
own spelling. Credentials (the variables matrix.yaml names) are not settings: they are
sent as given (README), and never read through here.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..resolve import trimmed


def setting_value(value: str) -> str:
    """A setting's ``value`` as publisher reads it: without the blanks around it; ``""``
    when it is blank (which the caller reads as unset)."""
    return trimmed(value)


def setting(env: Mapping[str, str], name: str) -> str:
    """The setting ``name`` of ``env`` (``setting_value``); ``""`` when it is unset."""
    return setting_value(env.get(name, ""))
