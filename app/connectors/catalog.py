"""The operators a number can be ported to, and the catalogue's old names for the registry.

What each partner is, holds and does lives in its entry in :mod:`app.partners`; the names
below it are kept for the modules that still import them from here.
"""

from __future__ import annotations

from app.partners import PARTNERS
from app.partners.partner import RECTIFIABLE_FIELDS

# The operators in the number-portability registry that a number can be ported to (the
# sandbox keeps the same registry and refuses any other): a portability request names one.
KNOWN_OPERATORS = ("Telia", "Tele2", "Telenor", "Tre", "Bahnhof", "Ownit", "Telavox",
                   "Comviq", "Halebop", "Vimla", "Fello", "Hallon")


def known_operator(name: str) -> str | None:
    """The registry's spelling of an operator's name, matched without regard to case."""
    wanted = name.strip().casefold()
    return next((known for known in KNOWN_OPERATORS if known.casefold() == wanted), None)


SYSTEMS = PARTNERS

__all__ = ["KNOWN_OPERATORS", "RECTIFIABLE_FIELDS", "SYSTEMS", "known_operator"]
