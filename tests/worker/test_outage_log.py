"""A database restart is one warning and one line when it is back, not an error per attempt
(app.db_outage): during a 5 s outage every claim, side job and answer being recorded fails."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from app import db_outage

JOB = logging.getLogger("app.worker")


def test_an_outage_is_said_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    away = OperationalError("SELECT 1", None, ConnectionRefusedError("refused"))
    with caplog.at_level(logging.INFO):
        for _ in range(30):
            db_outage.failed(JOB, "claim failed", away)
            db_outage.failed(JOB, "side job failed", away, job="notifications")
        db_outage.reached()
        db_outage.reached()
    lines = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("app.db", "WARNING", "the database cannot be reached; the worker keeps retrying"),
        ("app.db", "INFO", "the database can be reached again"),
    ]


def test_other_failures_are_errors_each_time(caplog: pytest.LogCaptureFixture) -> None:
    broken = IntegrityError("INSERT", None, ValueError("duplicate"))
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            db_outage.failed(JOB, "side job failed", broken, job="answers")
    assert [(r.levelname, r.getMessage(), getattr(r, "job", None), r.error_type)  # type: ignore[attr-defined]
            for r in caplog.records] == [("ERROR", "side job failed", "answers",
                                          "IntegrityError")] * 3
    assert "duplicate" not in caplog.text, "never the error's message: it may hold data"
