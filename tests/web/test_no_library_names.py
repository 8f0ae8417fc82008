"""The page keeps no copy of the library's names: every optimizer, activation, initializer,
schedule, attack and explanation method reaches it in the server's hello (issue 9). A name
written as a quoted literal in src/nnplay/web would go stale when the library renames it."""
import re
from pathlib import Path
from typing import get_args

from nnplay import spec
from nnplay.server.protocol import TYPES
from nnplay.trust import attacks, explain

WEB = Path(spec.__file__).parent / "web"


def library_names() -> set[str]:
    names = {n for lit in (spec.Optimizer, spec.Activation, spec.Init, spec.Schedule) for n in get_args(lit)}
    return names | set(attacks.METHODS) | set(explain.METHODS)


def test_the_names_are_read_from_the_library():
    assert {"adam", "relu", "he_normal", "onecycle", "fgsm", "gradcam"} <= library_names()


def test_no_library_name_is_a_string_literal_in_the_page():
    # a message type of the socket protocol ("step") is the protocol's word, not the library's;
    # "none" (no schedule) is also SVG's and CSS's (fill="none")
    names = library_names() - set(TYPES) - {"none"}
    files = [p for p in WEB.rglob("*") if p.suffix in (".js", ".html")]
    assert any(p.name == "hyper.js" for p in files)
    found = []
    for p in files:
        text = p.read_text(encoding="utf-8")
        for n in sorted(names):
            for m in re.finditer(rf"""(["'`]){re.escape(n)}\1""", text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{p.relative_to(WEB)}:{line}: {m.group(0)}")
    assert not found, "library names written in the page:\n" + "\n".join(found)
