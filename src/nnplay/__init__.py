"""nnplay: a deep-learning playground and lab on PyTorch.

spec -> data -> model -> train (+ probes) -> runs -> report / trust; server and web on top.
"""
from .spec import Spec, SpecError, UserError, load as load_spec

__version__ = "0.1.0"
__all__ = ["Spec", "SpecError", "UserError", "load_spec", "__version__"]
