"""Encryption at rest for the partner data the service must hold for a while.

Access and portability answers (names, addresses, call history...) are needed until the
response package is built; they are stored Fernet-encrypted (AES-128-CBC + HMAC-SHA256) under
``DSR_DATA_KEY`` and deleted with the package. Several keys may be configured for rotation.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.settings import Settings


class Vault:
    def __init__(self, settings: Settings) -> None:
        keys = settings.data_key.get_secret_value().split()
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError:
            raise ValueError("DSR_DATA_KEY must be url-safe base64 of 32 bytes") from None

    def seal(self, data: Any) -> bytes:
        return self._fernet.encrypt(json.dumps(data, ensure_ascii=False).encode())

    def open(self, token: bytes) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            raise ValueError("stored data could not be decrypted with DSR_DATA_KEY") from None

    def seal_bytes(self, data: bytes) -> bytes:
        """Encrypt raw bytes (a piece of a response package)."""
        return self._fernet.encrypt(data)

    def open_bytes(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise ValueError("stored data could not be decrypted with DSR_DATA_KEY") from None
