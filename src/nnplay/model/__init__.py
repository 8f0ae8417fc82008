"""Model: activations, initialisers, regularisation and the spec -> nn.Module builder."""
from .build import build_model

__all__ = ["build_model"]
