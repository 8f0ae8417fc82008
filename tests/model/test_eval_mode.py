"""eval_mode: the one place that evaluates in eval mode and restores the model's mode."""
import pytest
import torch
from torch import nn

from nnplay.model import eval_mode


@pytest.mark.parametrize("start", [True, False])
def test_eval_mode_turns_dropout_off_and_restores_the_mode_even_on_error(start):
    m = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.9)).train(start)
    x = torch.ones(64, 4)
    with eval_mode(m):
        assert not m.training and not m[1].training
        torch.testing.assert_close(m(x), m[0](x))          # dropout is the identity in eval mode
    assert m.training is start and m[1].training is start
    with pytest.raises(KeyError), eval_mode(m):
        raise KeyError("boom")
    assert m.training is start and m[1].training is start
