"""The report moved to :mod:`app.answers.report`; the letters (``app.rights.letter``) still
import these two from here until they import them from there."""

from app.answers.report import SWEDEN, phone

__all__ = ["SWEDEN", "phone"]
