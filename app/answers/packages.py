"""Writing a response package: a zip built entry by entry into a temporary file.

Nothing here holds a whole file in memory. Each entry is written through :class:`Entry`, which
hashes (SHA-256) and counts the bytes as they pass and hands them to ``zipfile`` in 64 KiB
pieces, so an entry of any size (a million call-history rows in ``data.json``) costs a few
buffers, not its size. ``manifest.json`` is written last and lists every other file with its
size and SHA-256; the SHA-256 of the finished zip is computed by reading the file back in
pieces.

The CSV helpers define the one mapping between a JSON value and a CSV cell (RFC 4180, UTF-8,
header row), and back, so a CSV file parses back to exactly the rows in ``data.json``.

Entry names are the service's own: a partner's words (a dataset's key in a callback) become a
name only through :func:`slug`, and :meth:`PackageWriter.entry` refuses any name that is not a
plain file name (no directory, no dot-dot, no drive, no repeat), so no extractor of the zip can
be led to write outside its folder.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import itertools
import json
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

FLUSH_BYTES = 64 * 1024
# Pieces joined per write by Entry.write_pieces: a rendered report comes as ~1,500 pieces of a
# few bytes, and each write hashes and buffers on its own (a tenth of an answer's build time).
PIECES_PER_WRITE = 512
READ_BYTES = 1024 * 1024
CONTENT_TYPES = {
    ".json": "application/json", ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
}


# A file name in the zip: a slug, one dot, an extension. Nothing an extractor could take for a
# directory (``/``, ``\\``), a parent (``..``), a drive (``C:``) or a hidden file.
SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}\.[a-z0-9]{1,8}")
_NOT_SLUG = re.compile(r"[^a-z0-9_]+")  # a run of anything else (dashes too) is one dash
SLUG_MAX = 48


def slug(text: str, fallback: str = "dataset") -> str:
    """``text`` as a slug of ``[a-z0-9_-]`` (accents dropped, any other run of characters one
    ``-``), at most :data:`SLUG_MAX` long; ``fallback`` when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = _NOT_SLUG.sub("-", ascii_text.lower())[:SLUG_MAX].strip("-_")
    return out or fallback


class UnsafeEntryName(ValueError):
    """A zip entry name that is not a plain file name of the service's choosing."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    name: str
    size: int
    sha256: str
    content_type: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256,
                "content_type": self.content_type}


@dataclass(frozen=True, slots=True)
class BuiltPackage:
    path: Path
    sha256: str
    size: int
    files: list[FileEntry]

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class Entry:
    """One file being written into the zip: text in, UTF-8 out, hashed and counted."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._hash = hashlib.sha256()
        self._buffer: list[bytes] = []
        self._buffered = 0
        self.size = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self._hash.update(data)
        self.size += len(data)
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered >= FLUSH_BYTES:
            self.flush()
        return len(text)

    def write_pieces(self, pieces: Iterable[str]) -> None:
        """Write a stream of small pieces (a template's output) a few hundred at a time, so
        memory stays bounded however long the stream is."""
        it = iter(pieces)
        while batch := list(itertools.islice(it, PIECES_PER_WRITE)):
            self.write("".join(batch))

    def flush(self) -> None:
        if self._buffer:
            self._handle.write(b"".join(self._buffer))
            self._buffer, self._buffered = [], 0

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class PackageWriter:
    """A zip in a temporary file; :meth:`finish` adds the manifest and closes it."""

    def __init__(self, generated_at: datetime, directory: str | None = None) -> None:
        handle, name = tempfile.mkstemp(prefix="dsr-response-", suffix=".zip", dir=directory)
        os.close(handle)
        self.path = Path(name)
        self._stamp = generated_at.timetuple()[:6]
        self._zip = zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_DEFLATED,
                                    compresslevel=6)
        self.files: list[FileEntry] = []

    @contextlib.contextmanager
    def entry(self, name: str) -> Iterator[Entry]:
        # Every caller names its files from slugs already; this is the second lock on the door.
        if not SAFE_NAME.fullmatch(name) or any(f.name == name for f in self.files):
            raise UnsafeEntryName("a response package entry needs a plain, unique file name")
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        with self._zip.open(info, "w", force_zip64=True) as handle:
            entry = Entry(handle)
            yield entry
            entry.flush()
        suffix = Path(name).suffix
        self.files.append(FileEntry(name, entry.size, entry.sha256,
                                    CONTENT_TYPES.get(suffix, "application/octet-stream")))

    def write_json(self, name: str, value: Any) -> None:
        with self.entry(name) as out:
            out.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")

    def write_csv(self, name: str, fields: list[dict[str, str]], rows: Iterable[dict]) -> None:
        with self.entry(name) as out:
            writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
            writer.writerow([csv_cell(f["name"]) for f in fields])  # a header is text too
            for row in rows:
                writer.writerow([csv_cell(row.get(f["name"]), f["type"]) for f in fields])

    def finish(self, manifest: dict[str, Any]) -> BuiltPackage:
        """Write ``manifest.json`` (every file so far, with size and SHA-256) and close."""
        try:
            body = {**manifest, "files": [f.as_dict() for f in self.files]}
            self.write_json("manifest.json", body)
            self._zip.close()
            digest, size = hashlib.sha256(), 0
            with self.path.open("rb") as handle:
                while piece := handle.read(READ_BYTES):
                    digest.update(piece)
                    size += len(piece)
        except BaseException:
            self.abort()
            raise
        return BuiltPackage(self.path, digest.hexdigest(), size, list(self.files))

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._zip.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


# -- CSV <-> JSON ------------------------------------------------------------------------------


def value_type(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "json"


def field_types(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each field of a dataset (in first-seen order) with the type its values have."""
    types: dict[str, set[str]] = {}
    for row in rows:
        for key, value in row.items():
            seen = types.setdefault(key, set())
            if (kind := value_type(value)) is not None:
                seen.add(kind)
    out = []
    for key, kinds in types.items():
        if kinds == {"integer", "number"}:
            kind = "number"
        elif len(kinds) == 1:
            kind = next(iter(kinds))
        else:
            kind = "string" if not kinds else "json"
        out.append({"name": key, "type": kind})
    return out


# A text cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(…) in a
# rectified name): such cells, and those starting with the prefix itself, get TEXT_PREFIX in
# front, which a spreadsheet shows as text and from_csv_cell removes again.
TEXT_PREFIX = "'"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", TEXT_PREFIX)


def csv_cell(value: Any, kind: str = "string") -> str:
    """A JSON value as a CSV cell: null is empty, booleans true/false, objects JSON text.

    ``kind`` is the field's documented type (see :func:`field_types`); a ``json`` field holds
    every non-null value as JSON text, so mixed values still parse back exactly. Text that a
    spreadsheet would run as a formula is neutralised with :data:`TEXT_PREFIX`.
    """
    if value is None:
        return ""
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return TEXT_PREFIX + value if value.startswith(_FORMULA_START) else value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def from_csv_cell(text: str, kind: str) -> Any:
    """The inverse of :func:`csv_cell`, given the field's documented type."""
    if text == "":
        return None
    if kind == "boolean":
        return text == "true"
    if kind == "integer":
        return int(text)
    if kind in ("number", "json"):
        return json.loads(text)
    return text.removeprefix(TEXT_PREFIX) if text.startswith(TEXT_PREFIX) else text
