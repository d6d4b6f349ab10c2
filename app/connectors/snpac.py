"""SNPAC, the number-portability database: porting records for the customer's phone number.

Keyed by the phone number itself, the minimum SNPAC needs. Besides the usual actions it books
a number port when a portability request names a receiving operator (GDPR art. 20, the
policy's own example). SNPAC holds no field a rectification could change.
"""

from __future__ import annotations

from typing import ClassVar

from app.connectors.opendsr import OpenDsrConnector


class SnpacConnector(OpenDsrConnector):
    system: ClassVar[str] = "snpac"
    actions: ClassVar[dict[str, str]] = {
        "export": "export", "erase": "erasure", "restrict": "restriction",
        "erase_retained": "erasure", "lift_restriction": "lift_restriction",
        "port_number": "number_porting",
    }
