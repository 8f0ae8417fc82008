"""The browser playground's server: FastAPI app, socket protocol (protocol.md), sessions."""
from .app import create_app
from .limits import LimitError, Limits

__all__ = ["create_app", "Limits", "LimitError"]
