"""User-facing text in English and Korean; one JSON file per language, shared by CLI and web."""
from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

LANGS = ("en", "ko")
HERE = Path(__file__).parent


@cache
def messages(lang: str) -> dict[str, str]:
    return json.loads((HERE / f"{lang}.json").read_text(encoding="utf-8"))


def default_lang() -> str:
    lang = os.environ.get("NNPLAY_LANG", "en")
    return lang if lang in LANGS else "en"


def t(key: str, lang: str | None = None, **kw) -> str:
    """The message ``key`` in ``lang`` (falls back to English), formatted with ``kw``."""
    lang = lang if lang in LANGS else default_lang()
    text = messages(lang).get(key) or messages("en")[key]
    return text.format(**kw)
