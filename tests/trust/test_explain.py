"""Attributions: exact on linear models, Grad-CAM by hand, IG completeness, digits stroke focus."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from nnplay.trust import TrustError
from nnplay.trust.base import logits
from nnplay.trust.explain import METHODS, explain, positive_share, strokes

pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")


@pytest.fixture
def linear():
    torch.manual_seed(0)
    lin = nn.Linear(6, 3)
    return lin, torch.randn(4, 6)


def test_linear_model_attributions_are_exact(linear):
    """For logit_t = W_t . x + b: saliency |W_t|, IG and occlusion (baseline 0) W_t * x."""
    lin, x = linear
    e = explain(lin, x, "saliency", target=1)
    W = lin.weight.detach()
    assert torch.allclose(e.attribution, W[1].abs().expand_as(x))
    for method in ("integrated-gradients", "occlusion"):
        e = explain(lin, x, method, target=2)
        assert torch.allclose(e.attribution, W[2] * x, atol=1e-5), method
    lime = explain(lin, x[:1], "lime", target=2, samples=300)
    assert torch.corrcoef(torch.stack([lime.attribution[0], W[2] * x[0]]))[0, 1] > 0.9


def test_gradcam_matches_a_hand_computation():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    x = torch.rand(2, 1, 6, 6)
    e = explain(net, x, "gradcam", target=0)
    A = net[0](x)                                            # (N, 4, 6, 6): the last conv's maps
    (g,) = torch.autograd.grad(net[1:](A)[:, 0].sum(), A)    # d logit_0 / d A
    alpha = g.mean((2, 3), keepdim=True)                     # one weight per map
    cam = F.relu((alpha * A).sum(1, keepdim=True)).detach()  # (N, 1, 6, 6): already input-sized
    assert torch.allclose(e.attribution, cam, atol=1e-6)


def test_integrated_gradients_completeness_on_digits(model_data):
    model, d = model_data
    x = d.x_test[:60]
    e = explain(model, x, "integrated-gradients")
    t = e.target.view(-1, 1)
    diff = (logits(model, x).gather(1, t) - logits(model, torch.zeros_like(x)).gather(1, t)).squeeze(1)
    total = e.attribution.flatten(1).sum(1)
    assert float(((total - diff).abs() / diff.abs()).max()) < 0.02      # sum = F(x) - F(x')
    assert torch.allclose(e.completeness_gap, total - diff, atol=1e-3)  # Captum's own figure agrees
    assert torch.equal(e.predicted, e.target)


@pytest.mark.parametrize("method", ["occlusion", "integrated-gradients"])
def test_digits_bar_attribution_sits_on_the_strokes(model_data, method):
    model, d = model_data
    x = d.x_test[:100]
    ink = x > 0.3   # the digits' ink (inputs in [0, 1]): what trust.explain.strokes marks
    assert torch.equal(ink, strokes(x, d.bounds)) and d.bounds == (0.0, 1.0)
    e = explain(model, x, method)
    share, area = positive_share(e.attribution, ink), float(ink.float().mean())
    assert share > 0.5 and share > area + 0.25, (method, share, area)
    per_image = torch.tensor([positive_share(e.attribution[i], ink[i]) for i in range(len(x))])
    assert float(per_image.median()) > 0.5


def test_every_method_runs_on_one_digit_and_binary_classes_are_mirrored(model_data):
    model, d = model_data
    x = d.x_test[17:18]
    for method in METHODS:
        e = explain(model, x, method)
        assert e.attribution.shape == x.shape and torch.isfinite(e.attribution).all(), method
    torch.manual_seed(0)
    binary = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))      # one logit z
    pts = torch.randn(5, 2)
    a1 = explain(binary, pts, "integrated-gradients", target=1).attribution
    a0 = explain(binary, pts, "integrated-gradients", target=0).attribution
    assert torch.allclose(a0, -a1, atol=1e-6) and a1.abs().sum() > 0


def test_explain_errors(model_data, linear):
    model, d = model_data
    lin, x = linear
    with pytest.raises(TrustError, match="'gradcam' needs image inputs"):
        explain(lin, x, "gradcam")
    mlp_on_images = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with pytest.raises(TrustError, match="needs a convolutional layer"):
        explain(mlp_on_images, d.x_test[:2], "gradcam")
    with pytest.raises(TrustError, match="method: must be one of: saliency, integrated-gradients"):
        explain(model, d.x_test[:2], "shap")
    with pytest.raises(TrustError, match="target: must be a class between 0 and 9; received: 10"):
        explain(model, d.x_test[:2], "saliency", target=10)


def test_strokes_are_the_pixels_above_the_ink_share_of_the_range():
    """INK = 0.3 of the input range, named once: [0, 1] -> above 0.3; [-1, 1] -> above -0.4."""
    x = torch.tensor([0.0, 0.29, 0.31, 1.0])
    assert strokes(x, (0.0, 1.0)).tolist() == [False, False, True, True]
    assert strokes(torch.tensor([-1.0, -0.41, -0.39, 1.0]), (-1.0, 1.0)).tolist() == [False, False, True, True]
