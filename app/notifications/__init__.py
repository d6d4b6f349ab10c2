"""Telling the portal backend what happened: the outbox, written with the change, and delivery."""
