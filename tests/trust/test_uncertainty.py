"""MC dropout, deep ensembles, ECE, temperature scaling and OOD AUROC, with hand-worked numbers."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nnplay.trust import TrustError
from nnplay.trust import uncertainty as U


def test_ece_matches_a_hand_computation():
    probs = torch.tensor([[0.9, 0.1], [0.78, 0.22], [0.58, 0.42], [0.3, 0.7], [0.45, 0.55], [0.05, 0.95]])
    y = torch.tensor([0, 1, 0, 1, 0, 1])
    # bins of width 0.2; confidences 0.9 .78 .58 .7 .55 .95; right: yes no yes yes no yes
    # (0.4,0.6]: conf (.58+.55)/2 = .565, acc 1/2 -> 2/6 * .065
    # (0.6,0.8]: conf (.78+.7)/2 = .74,   acc 1/2 -> 2/6 * .24
    # (0.8,1.0]: conf (.9+.95)/2 = .925,  acc 1   -> 2/6 * .075
    hand = 2 / 6 * (0.065 + 0.24 + 0.075)
    cal = U.calibration(probs, y, bins=5)
    assert cal.ece == pytest.approx(hand, abs=1e-6)
    assert [b["count"] for b in cal.bins] == [0, 0, 2, 2, 2]
    assert cal.bins[3]["confidence"] == pytest.approx(0.74) and cal.bins[3]["accuracy"] == 0.5


@pytest.mark.parametrize("k, bins", [(2, 10), (10, 10), (5, 15)])
def test_ece_equals_torchmetrics(k, bins):
    """torchmetrics' multiclass_calibration_error (norm "l1"): the same equal-width bins of the
    top-1 confidence. (Its bins are [lo, hi) and ours (lo, hi], as Guo et al.: the data hold no
    confidence on a bin edge.)"""
    import torchmetrics.functional.classification as tm
    g = torch.Generator().manual_seed(k)
    probs = (2 * torch.randn(400, k, generator=g, dtype=torch.float64)).softmax(1)
    y = torch.multinomial(probs.sqrt(), 1, generator=g).squeeze(1)   # over-confident predictions
    conf = probs.max(1).values * bins
    assert not torch.any(conf == conf.round())
    ours = U.calibration(probs, y, bins).ece
    ref = tm.multiclass_calibration_error(probs, y, num_classes=k, n_bins=bins, norm="l1")
    assert ours > 0.02
    assert ours == pytest.approx(float(ref), rel=1e-6)   # torchmetrics sums in float32


def test_entropy_and_mutual_information_by_hand():
    # two passes that disagree completely: mean [.5, .5], entropy ln 2, all of it disagreement
    p = U.Predictive(torch.tensor([[[30.0, -30.0]], [[-30.0, 30.0]]]))
    assert float(p.entropy[0]) == pytest.approx(math.log(2), abs=1e-6)
    assert float(p.mutual_information[0]) == pytest.approx(math.log(2), abs=1e-6)
    # two identical, unsure passes: same entropy, no disagreement
    q = U.Predictive(torch.zeros(2, 1, 2))
    assert float(q.entropy[0]) == pytest.approx(math.log(2))
    assert float(q.mutual_information[0]) == pytest.approx(0, abs=1e-7)
    # temperature divides the logits: softmax([2, 0] / 2) = softmax([1, 0])
    r = U.Predictive(torch.tensor([[[2.0, 0.0]]])).scaled(2.0)
    assert torch.allclose(r.probs, torch.softmax(torch.tensor([[1.0, 0.0]]), 1))


def test_fit_temperature_recovers_the_temperature_that_made_the_labels():
    g = torch.Generator().manual_seed(0)
    lg = 3 * torch.randn(6000, 5, generator=g)
    y = torch.multinomial(torch.softmax(lg / 2.0, 1), 1, generator=g).squeeze(1)
    assert U.fit_temperature(U.Predictive(lg.unsqueeze(0)), y) == pytest.approx(2.0, rel=0.08)


def test_ood_auroc_and_inputs():
    assert U.ood_auroc(torch.tensor([0.1, 0.2]), torch.tensor([0.3, 0.4])) == 1.0
    assert U.ood_auroc(torch.tensor([0.1, 0.4]), torch.tensor([0.2, 0.3])) == 0.5
    x = torch.rand(5, 1, 8, 8)
    noise = U.ood_inputs(x, "noise", (-2.0, 3.0))
    assert noise.shape == x.shape and float(noise.min()) >= -2 and float(noise.max()) <= 3
    assert torch.equal(U.ood_inputs(x, "inverted", (0.0, 1.0)), 1 - x)
    assert torch.equal(U.ood_inputs(x, "rotated", (0.0, 1.0))[0, 0, 0], x[0, 0, :, -1])
    with pytest.raises(TrustError, match="allowed for this data: noise"):
        U.ood_inputs(torch.rand(5, 2), "rotated", (0, 1))


def test_mc_dropout_passes_differ_are_seeded_and_leave_the_model_alone():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))
    net.eval()
    x = torch.rand(10, 4)
    a, b = U.mc_dropout(net, x, passes=8, seed=1), U.mc_dropout(net, x, passes=8, seed=1)
    assert torch.equal(a.logits, b.logits)
    assert not torch.equal(a.logits[0], a.logits[1])
    assert float(a.mutual_information.mean()) > 0
    assert not net.training and not net[2].training
    with pytest.raises(TrustError, match="needs a model with dropout"):
        U.mc_dropout(nn.Sequential(nn.Linear(4, 3)), x)


def assert_temperature_helps(pred, y):
    """The fitted T lowers the validation NLL it minimizes; the ECE (10 bins, 144 samples: one
    sample moves it by 0.007) may not fall with it: over train.seed 0-19 it rose by up to 0.010."""
    def nll(p):
        return float(-p.gather(1, y.view(-1, 1)).clamp_min(1e-12).log().mean())
    t = U.fit_temperature(pred, y)
    assert nll(pred.scaled(t).probs) <= nll(pred.probs) + 1e-6, t
    before, after = U.calibration(pred.probs, y).ece, U.calibration(pred.scaled(t).probs, y).ece
    assert after <= before + 0.02, (t, before, after)


def test_digits_bars_mc_dropout(model_data):
    model, d = model_data
    test = U.mc_dropout(model, d.x_test, passes=50)
    noise = U.mc_dropout(model, U.ood_inputs(d.x_test, "noise", d.bounds), passes=50)
    assert U.ood_auroc(test.entropy, noise.entropy) >= 0.9
    assert float((test.probs.argmax(1) == d.y_test).float().mean()) > 0.97
    for pred in (U.mc_dropout(model, d.x_val, passes=50), U.single(model, d.x_val)):
        assert_temperature_helps(pred, d.y_val)


def test_digits_bars_ensemble_of_runs(digits):
    """Members: the example run plus two runs of the same spec with seeds 1 and 2."""
    store, run, trainer = digits
    from nnplay.runs import load_trained
    trained = []
    runs = U.ensemble_runs(run, 3, store, lambda i, seed: trained.append(seed))
    assert trained == [1, 2] and [r.spec.train.seed for r in runs] == [0, 1, 2]
    again = U.ensemble_runs(run, 3, store, lambda i, seed: trained.append(seed))
    assert [r.id for r in again] == [r.id for r in runs] and trained == [1, 2]   # reused, not retrained
    d = trainer.data
    models = [load_trained(r).model for r in runs]
    test = U.ensemble(models, d.x_test)
    noise = U.ensemble(models, U.ood_inputs(d.x_test, "noise", d.bounds))
    assert U.ood_auroc(test.entropy, noise.entropy) >= 0.9
    val = U.ensemble(models, d.x_val)
    assert_temperature_helps(val, d.y_val)


# --- the family's one call shape ---------------------------------------------------------------
def test_uncertainty_one_call_for_every_method_with_its_own_sanity_figures():
    """uncertainty(model_or_models, x, y, method=...) -> a result whose summary() carries ECE and
    OOD AUROCs; the AUROCs are scikit-learn's on the entropies, ood_auroc over every kind."""
    from sklearn.metrics import roc_auc_score
    torch.manual_seed(0)
    nets = [nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Dropout(0.3), nn.Linear(12, 3))
            for _ in range(2)]
    x, y = torch.rand(40, 1, 4, 4), torch.randint(0, 3, (40,))
    xv, yv = torch.rand(20, 1, 4, 4), torch.randint(0, 3, (20,))
    keys = None
    for method, models in [("single", nets[0]), ("mc-dropout", nets[0]), ("ensemble", nets)]:
        res = U.uncertainty(models, x, y, method, bounds=(0.0, 1.0), passes=5, val=(xv, yv))
        s = res.summary()
        keys = keys or set(s)
        assert set(s) == keys and set(s["ood"]) == set(U.OOD_KINDS), method
        assert s["method"] == method and s["passes"] == {"single": 1, "mc-dropout": 5, "ensemble": 2}[method]
        assert s["ece"] == pytest.approx(U.calibration(res.test.probs, y).ece)
        for k, p in res.ood.items():
            want = roc_auc_score([0] * 40 + [1] * 40, torch.cat([res.test.entropy, p.entropy]).numpy())
            assert s["ood"][k]["auroc"] == pytest.approx(want)
        ent = torch.cat([res.test.entropy] + [p.entropy for p in res.ood.values()]).numpy()
        assert s["ood_auroc"] == pytest.approx(roc_auc_score([0] * 40 + [1] * 120, ent))
        val = {"single": lambda: U.single(nets[0], xv), "mc-dropout": lambda: U.mc_dropout(nets[0], xv, 5),
               "ensemble": lambda: U.ensemble(nets, xv)}[method]()
        assert s["temperature"] == pytest.approx(U.fit_temperature(val, yv))
    flat = U.uncertainty(nets[0], x.flatten(1), y, bounds=(0.0, 1.0))   # not images: noise only
    assert set(flat.summary()["ood"]) == {"noise"} and "val_ece" not in flat.summary()
    with pytest.raises(TrustError, match="method: must be one of: single, mc-dropout, ensemble"):
        U.uncertainty(nets[0], x, y, "bayes", bounds=(0.0, 1.0))
    with pytest.raises(TrustError, match="2 or more"):
        U.uncertainty(nets[0], x, y, "ensemble", bounds=(0.0, 1.0))
