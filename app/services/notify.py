"""Moved to :mod:`app.notifications.outbox` (kept while its importers switch)."""

from app.notifications.outbox import ENABLED, EVENTS, FREE_TEXT, body_of, emit, enabled, for_request

__all__ = ["ENABLED", "EVENTS", "FREE_TEXT", "body_of", "emit", "enabled", "for_request"]
