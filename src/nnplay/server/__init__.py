"""The browser playground's server: FastAPI app, socket protocol (protocol.md), sessions.

Names load on first use, so ``nnplay serve`` can answer its page (``boot``) before the
training stack (torch) is imported."""
from importlib import import_module

__all__ = ["create_app", "Limits", "LimitError"]
_WHERE = {"create_app": ".app", "Limits": ".limits", "LimitError": ".limits"}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name], __name__), name)
