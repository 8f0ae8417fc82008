"""Model: activations, initializers, regularization and the spec -> nn.Module builder."""
from contextlib import contextmanager

from torch import nn

from .build import build_model

CHUNK = 4096   # inputs per forward pass when a whole set is evaluated (bounded memory)


@contextmanager
def eval_mode(model: nn.Module):
    """Run the block in eval mode (dropout off, batch norm on its running statistics), then
    restore the mode the model had, even on an error."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


__all__ = ["build_model", "eval_mode", "CHUNK"]
