"""The colors of classes and of signed values, defined once for the page and the PNG figures.

The page gets them in the server's hello (``palette``; web/js/draw.js fills its arrays from
it) and the figures read them here (figure.py builds matplotlib colors from them), so a boundary
in a report and on the page shows class 0 in the same orange and class 1 in the same blue, and
a positive weight, gradient or attribution ("for" the class) is blue in both, as in TensorFlow
Playground. Only the formula that uses them is written in each language.
"""
from __future__ import annotations

CLASSES = ((245, 147, 34), (8, 119, 189), (46, 160, 67), (142, 68, 173), (214, 39, 40),
           (23, 190, 207), (188, 189, 34), (127, 127, 127), (140, 86, 75), (227, 119, 194))
NEG, POS = CLASSES[0], CLASSES[1]   # orange: class 0 / negative; blue: class 1 / positive
WHITE = (246, 247, 249)             # the page's background: chance, zero

# A multiclass boundary: the classes' colors mixed by probability, then faded towards WHITE,
# keeping FLOOR + SPAN * sure of the color, sure = (max p - 1/K) / (1 - 1/K) (0 at chance,
# 1 when certain); a discrete (argmax) map keeps DISCRETE of the argmax class's color.
FADE = {"floor": 0.25, "span": 0.6, "discrete": 0.75}


def hello() -> dict:
    """The palette as the page gets it (RGB 0-255)."""
    return {"classes": [list(c) for c in CLASSES], "white": list(WHITE), "fade": dict(FADE)}
