"""The operators a number can be ported to: the number-portability registry's list.

What each partner is, holds and does lives in its entry in :mod:`app.partners`.
"""

from __future__ import annotations

# The operators in the number-portability registry that a number can be ported to (the
# sandbox keeps the same registry and refuses any other): a portability request names one.
KNOWN_OPERATORS = ("Telia", "Tele2", "Telenor", "Tre", "Bahnhof", "Ownit", "Telavox",
                   "Comviq", "Halebop", "Vimla", "Fello", "Hallon")


def known_operator(name: str) -> str | None:
    """The registry's spelling of an operator's name, matched without regard to case."""
    wanted = name.strip().casefold()
    return next((known for known in KNOWN_OPERATORS if known.casefold() == wanted), None)
