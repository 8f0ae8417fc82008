"""One shape for an HTTP route's refusal: ``{"error": message}`` with its status."""
from __future__ import annotations

from starlette.responses import JSONResponse   # fastapi's is this one; starlette loads faster


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
