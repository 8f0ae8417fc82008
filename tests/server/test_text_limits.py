"""The playground never reads a text file of the server's: only uploads, or konlpy's texts."""
from __future__ import annotations

import pytest

from nnplay import spec
from nnplay.server import Limits
from nnplay.server.limits import LimitError, check_spec


def test_text_path_must_be_an_upload(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    outside = spec.from_dict({"data": {"name": "text", "path": "/etc/passwd"}})
    with pytest.raises(LimitError, match="data.path: the playground reads only files uploaded"):
        check_spec(outside, Limits(), uploads, {})
    check_spec(spec.from_dict({"data": {"name": "text", "path": str(uploads / "a.csv")}}), Limits(), uploads, {})
    check_spec(spec.from_dict({"data": {"name": "text", "corpus": "bills"}}), Limits(), uploads, {})
