"""Training: the loop, losses, optimizers, schedules and k-fold cross-validation."""
from .loop import DivergenceError, FitResult, Trainer

__all__ = ["Trainer", "FitResult", "DivergenceError"]
