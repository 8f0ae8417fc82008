"""The CSV upload route: the file is checked by the CSV loader, kept under the run store's
``uploads/`` (a quota, oldest first, never a file an open session trains on), and answered
with the spec's ``data`` section to use (``nnplay.data.csv.data_section`` decides: points or
a table)."""
from __future__ import annotations

import csv
import hashlib
import io
import time
from pathlib import Path
from typing import Annotated, Callable, Iterable, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ..data import csv as csv_source
from ..i18n import LANGS
from ..runs import atomic_write
from ..spec import UserError
from .answers import error
from .limits import Limits


def prune_uploads(folder: Path, keep_bytes: int, max_age_s: float,
                  protected: Iterable[str] = ()) -> int:
    """Delete uploads older than ``max_age_s``, then the oldest others until at most ``keep_bytes``
    remain; files in ``protected`` (open sessions train on them) stay. Returns the bytes kept."""
    kept, now = [], time.time()
    protected = {str(Path(p).resolve()) for p in protected}
    for f in folder.glob("*.csv"):
        st = f.stat()
        if str(f.resolve()) in protected:
            kept.append((float("inf"), st.st_size, f))
        elif now - st.st_mtime > max_age_s:
            f.unlink(missing_ok=True)
        else:
            kept.append((st.st_mtime, st.st_size, f))
    kept.sort(key=lambda k: k[0])          # oldest first; protected last (never deleted)
    total = sum(size for _, size, _ in kept)
    for mtime, size, f in kept:
        if total <= keep_bytes or mtime == float("inf"):
            break
        f.unlink(missing_ok=True)
        total -= size
    return total


def router(limits: Limits, folder: Path, in_use: Callable[[], set[str]]) -> APIRouter:
    """``POST /api/upload`` keeping files in ``folder``; ``in_use()``: files open sessions train on."""
    router = APIRouter()

    @router.post("/api/upload", openapi_extra={"requestBody": {"required": True, "content": {
        "text/csv": {"schema": {"type": "string"}}}}})
    async def upload(request: Request,
                     target: Annotated[str | None, Query(max_length=200)] = None,
                     name: Annotated[str | None, Query(max_length=200)] = None,
                     lang: Literal[LANGS] = "en") -> JSONResponse:
        """A CSV (header row, numeric features, one target column; the last by default).

        ``name``: the user's file name, which errors name (not the server's copy); ``lang``:
        the errors' language.

        Two features and class labels become drawable points (data.name = "points");
        anything else is kept on the server as a table (data.name = "csv").
        """
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limits.upload_bytes:
                return error(413, f"upload: over this server's limit of {limits.upload_bytes} bytes")
        try:
            text = bytes(body).decode("utf-8-sig")
        except UnicodeDecodeError:
            return error(400, "upload: the file is not UTF-8 text (save it as CSV, UTF-8)")
        try:
            header = next(csv.reader(io.StringIO(text, newline="")), [])
        except csv.Error as e:
            return error(400, f"upload: not a readable CSV file ({e})")
        columns = [h.strip() for h in header]
        if len(columns) < 2:
            return error(400, "upload: needs a header row with at least two columns "
                               "(features, then the target)")
        target = target or columns[-1]
        path = folder / f"{hashlib.sha256(body).hexdigest()[:16]}.csv"
        new = not path.exists()
        if new:
            room = limits.uploads_bytes - len(body)
            if prune_uploads(folder, room, limits.upload_hours * 3600, in_use()) > room:
                return error(507, f"upload: the uploads folder is full ({limits.uploads_bytes} bytes, "
                                   f"held by open sessions); close a tab that trains on a file and retry")
            atomic_write(path, text)   # a kill mid-write leaves no cut file to be reused
        else:
            path.touch()                       # used again: the newest, the last to be cleaned up
        try:
            data, rows, task, classes = csv_source.data_section(path, target, limits.points,
                                                                name=name or "upload.csv")
        except UserError as e:   # the CSV loader's and the spec's
            if new:
                path.unlink(missing_ok=True)   # nothing can use a refused file
            return error(400, e.render(lang))
        if data["name"] == "points" and new:
            path.unlink(missing_ok=True)       # the points travel in the spec: the file is not needed
        return JSONResponse({"data": data, "rows": rows, "columns": columns,
                             "target": target, "task": task, "classes": classes})

    return router
