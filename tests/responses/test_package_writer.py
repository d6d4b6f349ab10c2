"""The zip writer: what goes into an entry is exactly what was written, hashed and counted."""

from __future__ import annotations

import hashlib
import zipfile
from datetime import UTC, datetime

from app.answers.packages import PIECES_PER_WRITE, PackageWriter


def test_pieces_are_written_whole_in_order_empty_ones_included() -> None:
    # A template's output has empty pieces; a run of them longer than one batch must not end
    # the stream early, and nothing may be reordered or lost across batch boundaries.
    pieces = [*[""] * PIECES_PER_WRITE, "<p>", *[""] * (PIECES_PER_WRITE + 3), "å", *(str(i) for i in range(2000)),
              "</p>"]
    expected = "".join(pieces).encode("utf-8")
    writer = PackageWriter(datetime(2026, 11, 30, tzinfo=UTC))
    with writer.entry("report.html") as out:
        out.write_pieces(iter(pieces))
    built = writer.finish({"format": "test"})
    try:
        with zipfile.ZipFile(built.path) as archive:
            assert archive.read("report.html") == expected
        entry = next(f for f in built.files if f.name == "report.html")
        assert entry.size == len(expected)
        assert entry.sha256 == hashlib.sha256(expected).hexdigest()
    finally:
        built.discard()
