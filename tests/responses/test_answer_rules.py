"""Which answer a request is due, as plain rules: no database, no HTTP.

A final request is answered as it finished; a restriction reopened to be lifted has its notice
letter as its answer while it is open; anything else has none yet. A store checks the mark again
under the request's lock, so a build for a request that changed meanwhile is not stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.answers.builder import answer_mark
from app.answers.store import downloadable, response_info
from app.models import DsrRequest, RequestStatus, ResponsePackage
from app.services import lift

AT = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [RequestStatus.completed, RequestStatus.rejected,
                                    RequestStatus.cancelled])
def test_a_final_request_is_answered_as_it_finished(status: RequestStatus) -> None:
    request = DsrRequest(status=status, finished_at=AT)
    assert answer_mark(request) == ("final", AT)


@pytest.mark.parametrize("status", [RequestStatus.awaiting_verification,
                                    RequestStatus.in_progress, RequestStatus.action_required])
def test_an_open_request_has_no_answer_yet(status: RequestStatus) -> None:
    assert answer_mark(DsrRequest(status=status)) is None


def test_a_restriction_being_lifted_has_its_notice_letter_as_its_answer() -> None:
    request = DsrRequest(status=RequestStatus.in_progress, lift_requested_at=AT)
    assert lift.lifting(request)
    assert answer_mark(request) == ("lift", AT)
    # once a reject or cancel is under way, no lift letter is due any more
    request.closing_as = RequestStatus.cancelled
    assert not lift.lifting(request) and answer_mark(request) is None


def test_a_package_is_given_out_until_it_expires_or_is_purged() -> None:
    package = ResponsePackage(sha256="0" * 64, size=1, created_at=AT,
                              expires_at=datetime(2026, 12, 29, tzinfo=UTC))
    assert downloadable(package, now=AT)
    assert not downloadable(package, now=datetime(2026, 12, 30, tzinfo=UTC))
    package.purged_at = AT
    assert not downloadable(package, now=AT)


def test_the_request_shows_its_response_url_only_while_it_can_be_downloaded() -> None:
    request = DsrRequest(status=RequestStatus.in_progress)
    assert response_info(request, None) == (None, None)
    request.status = RequestStatus.completed
    info, url = response_info(request, None)  # not built yet: the first download builds it
    assert info is None and url == f"/v1/requests/{request.id}/response"
