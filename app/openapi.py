"""The OpenAPI document, generated from the code (``dsr openapi``; a test keeps it fresh)."""

from __future__ import annotations

import json

from app.main import create_app
from app.settings import Settings


def render() -> str:
    # Fixed settings, so the document does not depend on the machine's environment.
    app = create_app(Settings(_env_file=None, database_url="sqlite+aiosqlite:///:memory:"))
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
