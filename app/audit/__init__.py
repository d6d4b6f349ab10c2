"""The audit trail's keys, its ledger of checkpoints, and checking and exporting trails.

The chain itself (recording events) is :mod:`app.services.audit`.
"""
