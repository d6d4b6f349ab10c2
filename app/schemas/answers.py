"""The response package given for a finished request, as answered."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ResponseInfo(BaseModel):
    """The response package given for a finished request; kept after the file is purged."""

    sha256: str = Field(description="SHA-256 (hex) of the zip the customer received")
    size: int = Field(description="size of the zip in bytes")
    created_at: datetime
    expires_at: datetime = Field(description="when the package is deleted")
    purged_at: datetime | None = Field(default=None, description="when it was deleted")
