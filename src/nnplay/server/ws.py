"""The training sessions' WebSocket: one ``Session`` per socket. The route only carries
messages: it parses them (``protocol.parse``), posts them to the session, and sends what the
session emits; a bad message gets an error frame and the socket serves on."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Callable

from fastapi import APIRouter, WebSocket

from ..runs import RunStore
from ..spec import UserError
from .limits import LimitError, Limits
from .protocol import parse
from .session import Session

MAX_OUTBOX = 256      # queued replies to one socket before it is closed (a client that never reads)


def router(limits: Limits, store: RunStore, uploads: Path, image_sets: dict[str, str],
           sessions: set[Session], hello: Callable[[], dict]) -> APIRouter:
    """``/ws``; ``sessions``: the open ones (the app stops them at shutdown); ``hello()``: the
    first message."""
    router = APIRouter()

    @router.websocket("/ws")
    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        if len(sessions) >= limits.sessions:
            await ws.send_text(json.dumps({"type": "error", "code": "busy", "message":
                                           f"sessions: this server allows {limits.sessions} at once; "
                                           f"close another tab and reload"}))
            await ws.close(code=1013)
            return
        loop = asyncio.get_running_loop()
        outbox: asyncio.Queue = asyncio.Queue()

        def emit(msg: str | bytes) -> None:   # called from the session's thread
            try:
                loop.call_soon_threadsafe(outbox.put_nowait, msg)
            except RuntimeError:              # the loop is gone: the server is stopping
                pass

        emit(json.dumps(hello()))
        session = Session(emit, limits, store, uploads, image_sets)
        sessions.add(session)

        async def pump() -> None:
            while True:
                msg = await outbox.get()
                if isinstance(msg, bytes):
                    await ws.send_bytes(msg)
                else:
                    await ws.send_text(msg)

        sender = asyncio.create_task(pump())
        try:
            while not sender.done():
                event = await ws.receive()
                if event["type"] == "websocket.disconnect":
                    break
                try:
                    session.post(parse(event.get("text"), limits))
                except UserError as e:
                    code = "limit" if isinstance(e, LimitError) else "message"
                    emit(json.dumps({"type": "error", "code": code, "message": str(e)}))
                if outbox.qsize() > MAX_OUTBOX:
                    await ws.close(code=1008)
                    break
        except (RuntimeError, OSError):       # the socket broke mid-receive
            pass
        finally:
            sender.cancel()
            try:
                await asyncio.to_thread(session.close)   # pending messages dropped, the epoch cut short
            finally:
                sessions.discard(session)

    return router
