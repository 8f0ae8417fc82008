"""Training: the loop, losses, optimisers, schedules and k-fold cross-validation."""
from .loop import DivergenceError, FitResult, Trainer

__all__ = ["Trainer", "FitResult", "DivergenceError"]
