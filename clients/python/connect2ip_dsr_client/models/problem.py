from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.problem_type import ProblemType
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.field_error import FieldError





T = TypeVar("T", bound="Problem")



@_attrs_define
class Problem:
    """ RFC 9457 problem details, as every error of this API is answered. `type` is one of:

    | status | type | meaning |
    |---|---|---|
    | 400 | `https://dsr.connect2ip.se/problems/bad-request` | The request cannot be acted on as sent (e.g. a webhook-id
    that is too long). |
    | 400 | `https://dsr.connect2ip.se/problems/invalid-cursor` | The paging cursor is not one this service issued;
    start again without it. |
    | 400 | `https://dsr.connect2ip.se/problems/malformed-json` | The request body is not valid JSON in UTF-8. |
    | 401 | `https://dsr.connect2ip.se/problems/invalid-signature` | A partner callback whose Standard Webhooks
    signature is missing or wrong, or whose webhook-timestamp is more than 5 minutes off. |
    | 401 | `https://dsr.connect2ip.se/problems/unauthorized` | The bearer token (or, on a webhook, the signature) is
    missing, expired, malformed or signed with the wrong key. |
    | 403 | `https://dsr.connect2ip.se/problems/forbidden` | The caller's role may not do this (e.g. a portal token on
    an agent action). |
    | 404 | `https://dsr.connect2ip.se/problems/not-found` | No such resource, or not one the caller may see (no
    existence leak). |
    | 405 | `https://dsr.connect2ip.se/problems/method-not-allowed` | The path exists but not with this method; the
    Allow header lists those it has. |
    | 409 | `https://dsr.connect2ip.se/problems/already-lifted` | The restriction's lift was asked for before; it is
    lifted, or being lifted. |
    | 409 | `https://dsr.connect2ip.se/problems/conflict` | The request conflicts with the resource's current state. |
    | 409 | `https://dsr.connect2ip.se/problems/decision-not-applicable` | A decision was given when completing a task
    other than an objection's assessment. |
    | 409 | `https://dsr.connect2ip.se/problems/decision-required` | Completing an objection's assessment
    (assess_objection) needs the decision: upheld or overridden. |
    | 409 | `https://dsr.connect2ip.se/problems/extension-limit-reached` | A request may be extended by two further
    months in all (art. 12(3)); this one has none left. |
    | 409 | `https://dsr.connect2ip.se/problems/extension-too-late` | An extension must be decided and told to the
    customer within one month of receipt (art. 12(3)). |
    | 409 | `https://dsr.connect2ip.se/problems/idempotency-key-reused` | The Idempotency-Key was already used with a
    different body. |
    | 409 | `https://dsr.connect2ip.se/problems/invalid-state` | The request's status does not allow this action (e.g.
    extending a finished one). |
    | 409 | `https://dsr.connect2ip.se/problems/not-a-restriction` | Lifting applies to a restriction request only. |
    | 409 | `https://dsr.connect2ip.se/problems/notice-letter-not-ready` | A restriction's lift waits for its notice
    letter (art. 18(3)), which is being built; try again shortly. |
    | 409 | `https://dsr.connect2ip.se/problems/notice-outcome-not-done` | The lift notice task is completed by hand
    only to say the letter was sent to the customer (outcome done). |
    | 409 | `https://dsr.connect2ip.se/problems/request-closing` | A reject or cancel is waiting for work already sent
    to partners; until it is final the request takes no other action. |
    | 409 | `https://dsr.connect2ip.se/problems/request-not-finished` | The response exists once the request is finished
    (for a restriction being lifted, once its notice letter is built). |
    | 409 | `https://dsr.connect2ip.se/problems/retained-items-missing` | An outcome retained must list each item kept,
    with its legal basis and date. |
    | 409 | `https://dsr.connect2ip.se/problems/task-not-completable` | The task is not waiting for a person (it is
    queued, with a partner, or final), so it is not completed by hand. |
    | 409 | `https://dsr.connect2ip.se/problems/task-not-retryable` | The task has not failed, so there is no round to
    send again. |
    | 410 | `https://dsr.connect2ip.se/problems/response-purged` | The response package is past its retention period;
    the request still carries its SHA-256. |
    | 413 | `https://dsr.connect2ip.se/problems/payload-too-large` | The request body is larger than the service accepts
    (DSR_MAX_BODY_BYTES). |
    | 416 | `https://dsr.connect2ip.se/problems/range-not-satisfiable` | The Range asked for lies outside the file;
    Content-Range gives its size. |
    | 422 | `https://dsr.connect2ip.se/problems/validation-error` | A field is missing or invalid; `errors` lists each
    one by location. |
    | 431 | `https://dsr.connect2ip.se/problems/headers-too-large` | The request's headers together exceed
    DSR_MAX_HEADER_BYTES. |
    | 500 | `https://dsr.connect2ip.se/problems/internal-error` | Something unexpected went wrong on the service's side;
    the request ID names it. |
    | 503 | `https://dsr.connect2ip.se/problems/database-unavailable` | The service cannot reach its database just now
    (a restart, a network fault); retry after the seconds Retry-After gives. |
    | 503 | `https://dsr.connect2ip.se/problems/response-not-ready` | The response package could not be built just now
    (a partner unreachable); retry. |

        Attributes:
            detail (str): written for the caller; never echoes input
            status (int):
            title (str):
            type_ (ProblemType): the problem type's URI
            errors (list[FieldError] | None | Unset): for validation problems: each offending field
     """

    detail: str
    status: int
    title: str
    type_: ProblemType
    errors: list[FieldError] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.field_error import FieldError # noqa: PLC0415
        detail = self.detail

        status = self.status

        title = self.title

        type_ = self.type_.value

        errors: list[dict[str, Any]] | None | Unset
        if isinstance(self.errors, Unset):
            errors = UNSET
        elif isinstance(self.errors, list):
            errors = []
            for errors_type_0_item_data in self.errors:
                errors_type_0_item = errors_type_0_item_data.to_dict()
                errors.append(errors_type_0_item)


        else:
            errors = self.errors


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "detail": detail,
            "status": status,
            "title": title,
            "type": type_,
        })
        if errors is not UNSET:
            field_dict["errors"] = errors

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.field_error import FieldError # noqa: PLC0415
        d = dict(src_dict)
        detail = d.pop("detail")

        status = d.pop("status")

        title = d.pop("title")

        type_ = ProblemType(d.pop("type"))




        def _parse_errors(data: object) -> list[FieldError] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                errors_type_0 = []
                _errors_type_0 = data
                for errors_type_0_item_data in (_errors_type_0):
                    errors_type_0_item = FieldError.from_dict(errors_type_0_item_data)



                    errors_type_0.append(errors_type_0_item)

                return errors_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[FieldError] | None | Unset, data)

        errors = _parse_errors(d.pop("errors", UNSET))


        problem = cls(
            detail=detail,
            status=status,
            title=title,
            type_=type_,
            errors=errors,
        )


        problem.additional_properties = d
        return problem

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
