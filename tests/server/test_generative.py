"""The Generative mode over the socket (protocol.md: ``step.part``, the view's ``fakes``,
``manifold``, ``pick_a``, ``pick_b``, ``steps``): frames carry what the library's
GenerativeTrainer gives for the session's model (decision grid, gradient arrows, manifold,
PacGAN's mode metrics, latent codes, interpolation, reconstructions); D- and G-steps move only
their own player; D-/G-steps per round change live; bad input gets an error frame and the
socket keeps serving."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nnplay.server.app import _presets

PRESETS = _presets()


def _spec(name: str, **data) -> dict:
    return {**PRESETS[name], "data": {**PRESETS[name]["data"], **data}}


def _session(client):
    (session,) = client.app.state.sessions
    return session.trainer


def _params(net) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def _same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_hello_offers_the_generative_kinds_data_and_presets(sock):
    hello = sock.until("hello")
    o = hello["options"]
    assert o["generative_kinds"] == ["autoencoder", "vae", "gan"]
    assert {"ring", "grid", "moons", "spiral", "points", "digits"} == set(o["generative_data"])
    assert {"gan", "vae", "autoencoder"} <= set(hello["presets"])
    assert {"fakes", "manifold", "morph_steps"} <= set(hello["limits"])


def test_gan_frame_is_the_library_heat_map_arrows_manifold_and_modes(client, sock):
    ready = sock.start(_spec("gan", samples=400))
    tr = _session(client)
    assert ready["info"]["mode"] == "generative" and ready["generative"]["kind"] == "gan"
    np.testing.assert_allclose(ready["generative"]["modes"], tr.modes[0], atol=1e-4)
    # one D-step: D's weights move, G's do not; one G-step: the other way round (D frozen)
    g0, d0 = _params(tr.model.generator), _params(tr.model.discriminator)
    sock.send(type="step", part="d")
    sock.until("state")
    h, _ = sock.frame()
    assert set(h["gan"]) >= {"d_loss", "d_accuracy", "modes_covered", "high_quality"} and "g_loss" not in h["gan"]
    g1, d1 = _params(tr.model.generator), _params(tr.model.discriminator)
    assert _same(g0, g1) and not _same(d0, d1) and h["epoch"] == 0
    sock.send(type="step", part="g")
    sock.until("state")
    g2, d2 = _params(tr.model.generator), _params(tr.model.discriminator)
    assert not _same(g1, g2) and _same(d1, d2)
    sock.send(type="step", part="both")
    sock.until("state")
    sock.send(type="view", grid=40, fakes=120, manifold=7)
    h, a = sock.frame()
    fake = tr.sample(120, seed=tr.spec.train.seed)
    np.testing.assert_allclose(a["fake"], fake, atol=1e-6)
    np.testing.assert_allclose(a["arrows"], tr.gradient_arrows(fake), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(a["heat"], tr.decision_grid(40, tr.extent), atol=1e-6)
    np.testing.assert_allclose(a["manifold"], tr.manifold(7), atol=1e-6)
    assert a["heat"].shape == (40, 40) and a["manifold"].shape == (7, 7, 2)
    m = tr.gan_metrics()
    assert h["gan"]["modes_covered"] == m["modes_covered"] and h["gan"]["modes"] == 8
    assert abs(h["gan"]["high_quality"] - m["high_quality"]) < 1e-9
    # an arrow is G's gradient at that point: D's "real" logit grows along it (log loss: exactly
    # d/dx of -BCE(D(x), 1); least squares here) -- checked with torch's autograd directly
    x = torch.tensor(fake[:5], requires_grad=True)
    mean, scale = tr.unit
    out = tr.model.discriminator((x - torch.tensor(mean, dtype=torch.float32)).div(scale).repeat_interleave(2, 0))
    ((out - 1) ** 2).sum().backward()
    np.testing.assert_allclose(a["arrows"][:5], -x.grad.numpy(), rtol=1e-3, atol=1e-6)


def test_d_and_g_steps_per_round_change_live(client, sock):
    sock.start(_spec("gan", samples=400))
    tr = _session(client)
    sock.send(type="step")
    sock.until("state")
    opt, spec = tr.optimizer, dict(tr.spec.to_dict())
    spec["train"]["gan"] = {**spec["train"]["gan"], "d_steps": 3, "g_steps": 2}
    sock.send(type="spec", spec=spec)
    up = sock.until("updated")                      # not "ready": the same GAN goes on
    assert up["spec"]["train"]["gan"]["d_steps"] == 3 and tr.epoch == 1
    assert tr.optimizer is opt and tr.spec.train.gan.g_steps == 2   # Adam's state kept
    spec["train"]["gan"] = {**spec["train"]["gan"], "d_lr": 0.003}
    sock.send(type="spec", spec=spec)
    sock.until("updated")
    assert tr.optimizer is not opt and tr.optimizer.param_groups[0]["lr"] == 0.003 and tr.epoch == 1


def test_vae_frame_is_the_library_latent_map_interpolation_and_reconstructions(client, sock):
    ready = sock.start(_spec("vae"))
    tr = _session(client)
    g = ready["generative"]
    assert g["kind"] == "vae" and g["test_size"] == len(tr.data.x_test) and g["shape"] == [1, 8, 8]
    assert g["labels"] == tr.data.y_test[:len(g["labels"])].tolist()
    sock.send(type="step")
    sock.until("state")
    sock.send(type="view", pick_a=3, pick_b=10, steps=5)
    h, a = sock.frame()
    codes, labels = tr.encode("test")
    np.testing.assert_allclose(a["latent"], codes[:, :2], atol=1e-6)
    np.testing.assert_array_equal(a["labels"], labels)
    np.testing.assert_allclose(a["morph"], tr.interpolate(3, 10, steps=5), atol=1e-6)
    np.testing.assert_allclose(a["recon"], tr.reconstruct([3, 10]), atol=1e-6)
    assert h["pick"] == {"a": 3, "b": 10, "label_a": int(labels[3]), "label_b": int(labels[10])}
    assert a["samples"].shape == (16, 1, 8, 8) and "d_loss" not in h
    # the ends of the morph are the picked images' reconstructions: sigmoid(decoder(mean of q(z|x)))
    m = tr.model.eval()
    with torch.no_grad():
        mu = m.encoder(tr.data.x_test[[3, 10]])[:, :tr.spec.model.latent]
        ends = torch.sigmoid(m.decoder(mu)).numpy()
    np.testing.assert_allclose(a["morph"][[0, -1]], ends, atol=1e-5)
    np.testing.assert_allclose(a["pair"], tr.data.x_test[[3, 10]].numpy())
    assert h["metrics"]["test_loss"] == pytest.approx(tr.evaluate("test")["loss"], rel=1e-6)


def test_autoencoder_and_drawn_points_of_one_class(client, sock):
    ready = sock.start(_spec("autoencoder"))
    assert ready["generative"]["kind"] == "autoencoder"
    h, a = sock.frame()
    assert "samples" not in a and a["morph"].shape == (9, 1, 8, 8) and "test_mse" in h["metrics"]
    # a GAN on points the learner drew: one label is enough (labels are not learned)
    pts = [[float(np.cos(t)), float(np.sin(t)), 0] for t in np.linspace(0, 6, 40)]
    spec = {**PRESETS["gan"], "data": {"name": "points", "points": pts}}
    sock.send(type="spec", spec=spec)
    ready = sock.until("ready")
    assert ready["info"]["mode"] == "generative" and len(ready["generative"]["real"]) == ready["info"]["sizes"]["train"]


def test_bad_generative_messages_get_errors_and_the_socket_keeps_serving(client, sock):
    sock.start(_spec("vae"))
    sock.send(type="step", part="d")                  # a VAE has no D
    e = sock.until("error")
    assert e["code"] == "message" and "step.part" in e["message"] and "gan" in e["message"]
    for bad, field in (({"steps": 1}, "view.steps"), ({"steps": 33}, "view.steps"), ({"fakes": 1001}, "view.fakes"),
                       ({"manifold": 31}, "view.manifold"), ({"pick_a": -1}, "view.pick_a")):
        sock.send(type="view", **bad)
        e = sock.until("error")
        assert field in e["message"], (bad, e)
    sock.send(type="step", part="sideways")
    assert "step.part" in sock.until("error")["message"]
    sock.send(type="view", pick_a=10_000, pick_b=10_000)   # past the test set: the last image
    h, _ = sock.frame()
    n = len(_session(client).data.x_test)
    assert h["pick"]["a"] == h["pick"]["b"] == n - 1
