"""Eniro/Hitta, the directory: the customer's listing (name, number, address if listed).

Keyed by the listing ID. Unlisting is both the erasure and the answer to an objection to
direct marketing (listings are what marketers harvest), so ``unlist`` is sent as ``erasure``
or ``objection`` according to the request.
"""

from __future__ import annotations

from typing import ClassVar

from app.connectors.opendsr import OpenDsrConnector


class EniroConnector(OpenDsrConnector):
    system: ClassVar[str] = "eniro"
    actions: ClassVar[dict[str, str]] = {
        "export": "export", "unlist": "unlist", "erase": "unlist",
        "rectify": "rectification", "restrict": "restriction",
        "lift_restriction": "lift_restriction",
    }
