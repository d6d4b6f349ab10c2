"""Stadsnät, the municipal fibre network: connection address, port and activation history.

Keyed by the service ID. The network keeps an active connection's address while the contract
runs (it reports that as ``retained``); everything else follows the OpenDSR client.
"""

from __future__ import annotations

from typing import ClassVar

from app.connectors.opendsr import OpenDsrConnector


class StadsnatConnector(OpenDsrConnector):
    system: ClassVar[str] = "stadsnat"
    actions: ClassVar[dict[str, str]] = {
        "export": "export", "erase": "erasure", "rectify": "rectification",
        "restrict": "restriction",
        "erase_retained": "erasure", "lift_restriction": "lift_restriction",
    }
