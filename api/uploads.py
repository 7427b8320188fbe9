"""Uploaded files, defensively: safe names, allowed types by suffix and content, size caps.

A file is written under a fresh temporary folder with a name reduced to its last component
(either slash), printable characters only, so a client name like ``../../etc/passwd`` or
``..\\x.csv`` can never leave the folder. Bytes are copied in chunks and the copy stops as
soon as the file passes ``max_bytes`` (413). The content must match the suffix: workbooks are
zip files whose members do not inflate past a bound (zip bombs); text files hold no NUL bytes
(unless UTF-16 with a BOM, which Excel writes).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from features.sources.tabular import CSV_SUFFIXES, EXCEL_SUFFIXES
from risk_model.exceptions import Problem, TooLarge, ValidationFailed

__all__ = ["UPLOAD_SUFFIXES", "Upload", "safe_name", "save_uploads"]

UPLOAD_SUFFIXES: tuple[str, ...] = (*CSV_SUFFIXES, *EXCEL_SUFFIXES)
#: A workbook may inflate to at most this many times the upload limit.
MAX_INFLATE_RATIO = 10
_CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)
_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Upload:
    """An uploaded file: the form field it came in, its client file name, and its bytes."""

    field: str
    filename: str
    stream: BinaryIO


def safe_name(filename: str | None, field: str) -> str:
    """The last path component of a client file name, with unsafe characters replaced."""
    last = re.split(r"[\\/]", filename or "")[-1]
    name = _UNSAFE.sub("_", last).strip(" .")[:200]
    if not name or set(name) <= {"_", "."}:
        return f"{field}.csv"
    return name


def _copy_capped(stream: BinaryIO, target: Path, max_bytes: int) -> int:
    """Copy ``stream`` to ``target``; raise ``TooLarge`` as soon as it passes ``max_bytes``."""
    size = 0
    with target.open("wb") as fh:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(f"{target.name}: file too large (more than {max_bytes} bytes)")
            fh.write(chunk)
    return size


def _content_problem(path: Path, max_bytes: int) -> str | None:
    """Why the bytes do not match the suffix (None when they do)."""
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        if not head.startswith(b"PK\x03\x04") or not zipfile.is_zipfile(path):
            return "not an Excel workbook (.xlsx files are zip archives)"
        with zipfile.ZipFile(path) as zf:
            inflated = sum(i.file_size for i in zf.infolist())
        if inflated > MAX_INFLATE_RATIO * max_bytes:
            raise TooLarge(f"{path.name}: workbook inflates to {inflated} bytes; too large")
        return None
    if head.startswith(b"PK\x03\x04"):
        return "looks like a workbook or zip archive, not a text (CSV) file"
    if b"\x00" in head and not head.startswith(_BOMS):
        return "binary content (NUL bytes) in a text (CSV) file"
    return None


def save_uploads(uploads: Sequence[Upload], folder: Path, max_bytes: int) -> dict[str, Path]:
    """Write uploads under ``folder/<field>/<safe name>``; every bad file listed in one 422."""
    problems: list[Problem] = []
    paths: dict[str, Path] = {}
    root = folder.resolve()
    for up in uploads:
        name = safe_name(up.filename, up.field)
        if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
            problems.append(
                Problem(
                    name, None, None, f"{up.field}: expected one of {', '.join(UPLOAD_SUFFIXES)}"
                )
            )
            continue
        target = (root / up.field / name).resolve()
        if not target.is_relative_to(root):  # pragma: no cover - safe_name rules this out
            problems.append(Problem(name, None, None, "unsafe file name"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        size = _copy_capped(up.stream, target, max_bytes)
        if size == 0:
            problems.append(Problem(name, None, None, "file is empty"))
            continue
        why = _content_problem(target, max_bytes)
        if why is not None:
            problems.append(Problem(name, None, None, why))
            continue
        paths[up.field] = target
    if problems:
        raise ValidationFailed(problems)
    return paths
