"""Training: the loop, losses, optimizers, schedules and k-fold cross-validation."""
from .loop import DivergenceError, FitResult, Trainer, Update

__all__ = ["Trainer", "FitResult", "DivergenceError", "Update"]
