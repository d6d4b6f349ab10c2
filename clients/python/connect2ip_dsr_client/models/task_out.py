from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.system import System
from ..models.task_action import TaskAction
from ..models.task_status import TaskStatus
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.task_outcome import TaskOutcome





T = TypeVar("T", bound="TaskOut")



@_attrs_define
class TaskOut:
    """ 
        Attributes:
            action (TaskAction): What a task does in its system.
            attempts (int):
            id (UUID):
            status (TaskStatus):
            system (System): A system a request reaches: the company's own register, a partner, or a step an agent carries
                out by hand.
            updated_at (datetime.datetime):
            dispatch_round (int | Unset): 0 at first; +1 each time an agent retries the task after a failure (the partner
                then sees a new id, `<task id>.<round>`) Default: 0.
            last_error (None | str | Unset):
            outcome (None | TaskOutcome | Unset):
            scheduled_for (datetime.datetime | None | Unset): for scheduled work (e.g. a deferred erasure): when it is due;
                the worker carries it out then
     """

    action: TaskAction
    attempts: int
    id: UUID
    status: TaskStatus
    system: System
    updated_at: datetime.datetime
    dispatch_round: int | Unset = 0
    last_error: None | str | Unset = UNSET
    outcome: None | TaskOutcome | Unset = UNSET
    scheduled_for: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.task_outcome import TaskOutcome # noqa: PLC0415
        action = self.action.value

        attempts = self.attempts

        id = str(self.id)

        status = self.status.value

        system = self.system.value

        updated_at = self.updated_at.isoformat()

        dispatch_round = self.dispatch_round

        last_error: None | str | Unset
        if isinstance(self.last_error, Unset):
            last_error = UNSET
        else:
            last_error = self.last_error

        outcome: dict[str, Any] | None | Unset
        if isinstance(self.outcome, Unset):
            outcome = UNSET
        elif isinstance(self.outcome, TaskOutcome):
            outcome = self.outcome.to_dict()
        else:
            outcome = self.outcome

        scheduled_for: None | str | Unset
        if isinstance(self.scheduled_for, Unset):
            scheduled_for = UNSET
        elif isinstance(self.scheduled_for, datetime.datetime):
            scheduled_for = self.scheduled_for.isoformat()
        else:
            scheduled_for = self.scheduled_for


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "action": action,
            "attempts": attempts,
            "id": id,
            "status": status,
            "system": system,
            "updated_at": updated_at,
        })
        if dispatch_round is not UNSET:
            field_dict["dispatch_round"] = dispatch_round
        if last_error is not UNSET:
            field_dict["last_error"] = last_error
        if outcome is not UNSET:
            field_dict["outcome"] = outcome
        if scheduled_for is not UNSET:
            field_dict["scheduled_for"] = scheduled_for

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.task_outcome import TaskOutcome # noqa: PLC0415
        d = dict(src_dict)
        action = TaskAction(d.pop("action"))




        attempts = d.pop("attempts")

        id = UUID(d.pop("id"))




        status = TaskStatus(d.pop("status"))




        system = System(d.pop("system"))




        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        dispatch_round = d.pop("dispatch_round", UNSET)

        def _parse_last_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_error = _parse_last_error(d.pop("last_error", UNSET))


        def _parse_outcome(data: object) -> None | TaskOutcome | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                outcome_type_0 = TaskOutcome.from_dict(data)



                return outcome_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TaskOutcome | Unset, data)

        outcome = _parse_outcome(d.pop("outcome", UNSET))


        def _parse_scheduled_for(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                scheduled_for_type_0 = datetime.datetime.fromisoformat(data)



                return scheduled_for_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        scheduled_for = _parse_scheduled_for(d.pop("scheduled_for", UNSET))


        task_out = cls(
            action=action,
            attempts=attempts,
            id=id,
            status=status,
            system=system,
            updated_at=updated_at,
            dispatch_round=dispatch_round,
            last_error=last_error,
            outcome=outcome,
            scheduled_for=scheduled_for,
        )


        task_out.additional_properties = d
        return task_out

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
