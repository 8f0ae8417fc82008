"""Probes: what the course makes visible, read off a model.

- ``grad_norms``: per-layer gradient L2 norm (vanishing gradients, 기울기 소실)
- ``activation_stats``: per-activation mean/std and dead-ReLU fraction
- ``weight_stats``: per-layer weight L2 norm, L1 norm and near-zero share (sparsity)
- ``boundary_grid``: the model's output over the 2-D input plane
- ``filters`` / ``feature_maps``: what a CNN's conv layers learned and see
- ``time_gradients`` / ``gates``: what a recurrent network carries over time steps
- ``convolution_at`` / ``pooling_at`` / ``softmax_at``: the arithmetic behind one number (CNN Explainer)
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .model import CHUNK, eval_mode
from .model.activations import RELU_LIKE, name_of, width_factor
from .spec import UserError

PARAM_LAYERS = (nn.Linear, nn.Conv2d)


def param_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, layer) of each dense/conv layer, input side first."""
    return [(n, m) for n, m in model.named_children() if isinstance(m, PARAM_LAYERS)]


def grad_norms(model: nn.Module) -> dict[str, float]:
    """||dL/dW|| per dense/conv layer, from the gradients currently stored."""
    out = {}
    for n, m in param_layers(model):
        g = m.weight.grad
        if g is not None:
            a = g.detach().float().cpu().numpy()
            out[n] = float(np.sqrt((a * a).sum(dtype=np.float64)))
    return out


def weight_stats(model: nn.Module, zero_tol: float = 1e-3) -> dict[str, dict[str, float]]:
    """Per layer: L2 norm, L1 norm and share of weights with |w| < zero_tol.

    Computed in numpy: for the small layers of the playground, a handful of torch
    ops per layer cost more than the training step they describe.
    """
    out = {}
    for n, m in param_layers(model):
        a = np.abs(m.weight.detach().cpu().numpy())
        out[n] = {"l2": float(np.sqrt((a * a).sum(dtype=np.float64))),
                  "l1": float(a.sum(dtype=np.float64)), "near_zero": float((a < zero_tol).mean())}
    return out


@torch.no_grad()
def activations(model: nn.Sequential, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Output of every child for input batch ``x`` (eval mode, no gradients)."""
    outs = {}
    with eval_mode(model):
        for name, layer in model.named_children():
            x = layer(x)
            outs[name] = x
    return outs


def activation_stats(model: nn.Sequential, x: torch.Tensor) -> dict[str, dict[str, float]]:
    """Per activation layer: mean, std, and (ReLU) share of units dead on the whole batch."""
    return summarize_activations(model, activations(model, x))


def summarize_activations(model: nn.Sequential, acts: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """``activation_stats`` from outputs already computed by ``activations``."""
    mods = dict(model.named_children())
    rows, names = [], []
    for name, a in acts.items():
        if not name.startswith("act"):
            continue
        per_unit = a.transpose(0, 1).reshape(a.shape[1], -1)      # (units, N*H*W)
        dead = (per_unit.amax(1) <= 0).float().mean() if isinstance(mods[name], RELU_LIKE) \
            else a.new_zeros((), dtype=torch.float32)
        rows.append(torch.stack([a.mean().float(), a.std().float(), dead]))
        names.append(name)
    if not rows:
        return {}
    vals = torch.stack(rows).tolist()
    return {n: {"mean": v[0], "std": v[1], "dead": v[2]} for n, v in zip(names, vals)}


def plane(extent: float, resolution: int) -> np.ndarray:
    """(R*R, 2) points of a square grid over [-extent, extent]^2, rows from top (x2 high)."""
    xs = np.linspace(-extent, extent, resolution, dtype=np.float32)
    g1, g2 = np.meshgrid(xs, xs[::-1])
    return np.stack([g1.ravel(), g2.ravel()], 1)


@torch.no_grad()
def boundary_grid(model: nn.Module, data, resolution: int = 50) -> np.ndarray:
    """Model output over the 2-D plane: (R, R) P(class 1) / value, or (R, R, K) for K classes."""
    from .train.losses import predict

    x = data.featurize(plane(data.extent, resolution)).to(next(model.parameters()).device)
    with eval_mode(model):
        p = predict(model(x), data.task)
    if data.task == "binary":
        p = p[:, 1]
    return p.reshape(resolution, resolution, *p.shape[1:]).float().cpu().numpy()


def filters(model: nn.Module) -> np.ndarray | None:
    """The first conv layer's kernels, (filters, in_channels, k, k) (``conv_filters``' first)."""
    return next(iter(conv_filters(model).values()), None)


def feature_maps(model: nn.Sequential, image: torch.Tensor) -> dict[str, np.ndarray]:
    """Each conv/activation/pool output for one image (C, H, W): {layer: (C', H', W')}."""
    dev = next(model.parameters()).device
    outs = activations(model, image.unsqueeze(0).to(dev))
    return {n: a[0].float().cpu().numpy() for n, a in outs.items() if a.dim() == 4}


# --- for the playground's network diagram and image views -----------------------
def blocks(model: nn.Sequential) -> list[dict]:
    """The hidden layers as the library built them: each dense layer (not ``out``) with the
    children up to the next dense layer. ``name``: the dense layer; ``last``: its last child
    (a unit's value is that child's output); ``units``: that output's width (CReLU doubles it);
    ``act``: the activation child and ``activation`` its course name (None: no activation)."""
    names = list(dict(model.named_children()))
    out = []
    for i, n in enumerate(names):
        if isinstance(getattr(model, n), nn.Linear) and n != "out":
            j = i
            while j + 1 < len(names) and not isinstance(getattr(model, names[j + 1]), nn.Linear):
                j += 1
            act = next((c for c in names[i + 1:j + 1] if name_of(getattr(model, c))), None)
            units = getattr(model, n).out_features * (width_factor(name_of(getattr(model, act))) if act else 1)
            out.append({"name": n, "last": names[j], "units": units, "act": act,
                        "activation": name_of(getattr(model, act)) if act else None})
    return out


def unit_grids(model: nn.Sequential, data, resolution: int = 20) -> dict[str, np.ndarray]:
    """Each hidden layer's units over the 2-D plane, keyed by its dense layer: {dense: (units, R, R)}.

    A unit is what the next layer sees: the dense output after its norm, activation and
    dropout (eval mode), so a linear layer shows too and CReLU shows twice the units.
    """
    x = data.featurize(plane(data.extent, resolution)).to(next(model.parameters()).device)
    outs = activations(model, x)
    return {b["name"]: outs[b["last"]].T.reshape(-1, resolution, resolution).float().cpu().numpy()
            for b in blocks(model) if outs[b["last"]].dim() == 2}


def dense_weights(model: nn.Module) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(weight (out, in), bias (out,)) of each dense layer, ``out`` included: the diagram's links."""
    return {n: (m.weight.detach().float().cpu().numpy(),
                m.bias.detach().float().cpu().numpy() if m.bias is not None
                else np.zeros(m.out_features, np.float32))
            for n, m in model.named_children() if isinstance(m, nn.Linear)}


@torch.no_grad()
def layer_table(model: nn.Sequential, input_shape: tuple[int, ...]) -> list[dict]:
    """Each child's name, kind, output shape and parameter count (one dummy sample: character
    ids, 0 = padding, when the network opens with an embedding)."""
    dev = next(model.parameters()).device
    ids = isinstance(next(model.children(), None), nn.Embedding)
    outs = activations(model, torch.zeros((1, *input_shape), device=dev,
                                          dtype=torch.long if ids else torch.float32))
    mods = dict(model.named_children())
    return [{"name": n, "kind": type(mods[n]).__name__, "shape": list(a.shape[1:]),
             "params": sum(p.numel() for p in mods[n].parameters())} for n, a in outs.items()]


@torch.no_grad()
def confusion(model: nn.Module, x: torch.Tensor, y: torch.Tensor, task: str, num_classes: int,
              out: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(confusion matrix (K, K) rows = true class, predicted labels (N,), indices of mistakes).
    ``out``: the network's outputs on ``x`` when they were just computed (no second pass)."""
    from sklearn.metrics import confusion_matrix

    from .train.losses import predict

    if out is None:
        dev = next(model.parameters()).device
        with eval_mode(model):
            out = torch.cat([model(x[i:i + CHUNK].to(dev)).float() for i in range(0, len(x), CHUNK)])
    pred = predict(out, task).argmax(1).cpu().numpy()
    true = y.cpu().numpy()
    cm = confusion_matrix(true, pred, labels=list(range(num_classes)))
    return cm, pred, np.flatnonzero(pred != true)


# --- sequences: gradients over time and gates ------------------------------------------------
def time_gradients(model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """||dL/dx_t|| for each time step t of inputs ``x`` (B, T, F), averaged over the batch: (T,).

    The recurrent twin of the vanishing-gradient lesson: through a tanh RNN the gradient
    reaching step t shrinks about geometrically with the steps between t and the output
    (Bengio et al. 1994; Pascanu et al. 2013, https://arxiv.org/abs/1211.5063); an LSTM's
    cell state, kept by its forget gate, carries it back (Hochreiter & Schmidhuber 1997).
    """
    dev = next(model.parameters()).device
    with eval_mode(model):
        x = x.to(dev).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(loss_fn(model(x), y.to(dev)), x)
    return g.norm(dim=2).mean(0).float().cpu().numpy()                  # (T,)


@torch.no_grad()
def gates(model: nn.Sequential, x: torch.Tensor) -> dict | None:
    """The first recurrent layer's gates over one sequence ``x`` (T, F), forward direction.

    Recomputed step by step from the layer's weights with PyTorch's documented equations
    (nn.LSTM / nn.GRU; W_i* act on the input, W_h* on the previous h):
      LSTM: i, f, o = sigmoid(W_i* x_t + b_i* + W_h* h + b_h*), g = tanh(...);
            c = f * c + i * g;  h = o * tanh(c)
      GRU:  r, z = sigmoid(W_i* x_t + b_i* + W_h* h + b_h*);
            n = tanh(W_in x_t + b_in + r * (W_hn h + b_hn));  h = (1 - z) * n + z * h
      RNN:  h = tanh(W_ih x_t + b_ih + W_hh h + b_hh)   (no gates)
    -> {"kind", "gates": {name: (T, H)}, "h": (T, H), "gap"}: ``gap`` is the largest
    |h - the layer's own output|, the result's check on itself (about 1e-7). None: no
    recurrent layer.
    """
    from .model.layers import Recurrent
    dev = next(model.parameters()).device
    with eval_mode(model):
        z = x.to(dev)[None]                                   # (1, T, F)
        for m in model.children():
            if isinstance(m, Recurrent):
                break
            z = m(z)
        else:
            return None
        layer = m.layers[0]
        ref, _ = layer(z)                                     # PyTorch's h, (1, T, D*H)
    H, kind = layer.hidden_size, m.kind
    w_ih, w_hh = layer.weight_ih_l0, layer.weight_hh_l0
    b_ih, b_hh = layer.bias_ih_l0, layer.bias_hh_l0
    h = z.new_zeros(H)
    c = z.new_zeros(H)
    names = {"lstm": ("input", "forget", "cell", "output"), "gru": ("reset", "update", "new"),
             "rnn": ()}[kind]
    rows: dict[str, list] = {n: [] for n in names}
    hs = []
    for xt in z[0]:
        gi, gh = w_ih @ xt + b_ih, w_hh @ h + b_hh
        if kind == "lstm":
            i, f, g, o = (gi + gh).chunk(4)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g
            h = o * torch.tanh(c)
            step = (i, f, g, o)
        elif kind == "gru":
            (ir, iz, i_n), (hr, hz, h_n) = gi.chunk(3), gh.chunk(3)
            r, u = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
            n = torch.tanh(i_n + r * h_n)
            h = (1 - u) * n + u * h
            step = (r, u, n)
        else:
            h = torch.tanh(gi + gh)
            step = ()
        for name, v in zip(names, step):
            rows[name].append(v)
        hs.append(h)
    hs = torch.stack(hs)                                      # (T, H)
    return {"kind": kind, "gates": {n: torch.stack(v).cpu().numpy() for n, v in rows.items()},
            "h": hs.cpu().numpy(), "c": c.cpu().numpy() if kind == "lstm" else None,
            "gap": float((hs - ref[0, :, :H]).abs().max())}


# --- the CNN explainer: the arithmetic behind one number ------------------------------------
# CNN Explainer (Wang et al. 2020, https://arxiv.org/abs/2004.15004) shows a student how each
# number of a CNN is made; these probes give those numbers for the learner's own network.
class ProbeError(UserError):
    """A probe asked about a layer or place the network does not have."""


ELEMENTWISE = (nn.BatchNorm2d, nn.Dropout, nn.Dropout2d, nn.Identity)   # value by value, like activations
POOLS = (nn.MaxPool2d, nn.AvgPool2d)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def explainable(model: nn.Sequential) -> dict[str, str]:
    """{child: the conv or pool layer that explains its output}: each conv and pool, and the
    children right after a conv that act value by value (activation, norm, dropout)."""
    out, conv = {}, None
    for name, m in model.named_children():
        if isinstance(m, nn.Conv2d):
            conv = out[name] = name
        elif isinstance(m, POOLS):
            out[name], conv = name, None
        elif conv is not None and (name_of(m) or isinstance(m, ELEMENTWISE)):
            out[name] = conv
        else:
            conv = None
    return out


def _place(model: nn.Sequential, x: torch.Tensor, layer: str, unit: int, row: int, col: int):
    """(layer module, its input (C, H, W), every child's output for ``x``) after checking that
    ``layer`` explains something and (unit, row, col) lies in its output."""
    allowed = explainable(model)
    if layer not in allowed:
        raise ProbeError.say("probe.layer", got=repr(layer), allowed=", ".join(allowed) or "-")
    dev = next(model.parameters()).device
    x = x.to(dev)
    outs = activations(model, x.unsqueeze(0))
    names = list(outs)
    C, H, W = outs[layer].shape[1:]
    for field, v, n in (("unit", unit, C), ("row", row, H), ("col", col, W)):
        if not 0 <= v < n:
            raise ProbeError.say("probe.range", field=field, layer=layer, most=n - 1, got=v)
    i = names.index(allowed[layer])
    inp = x if i == 0 else outs[names[i - 1]][0]
    return getattr(model, allowed[layer]), inp, outs


@torch.no_grad()
def convolution_at(model: nn.Sequential, x: torch.Tensor, layer: str, unit: int, row: int,
                   col: int) -> dict:
    """One number of a conv layer's feature map for image ``x`` (C, H, W), worked out:

        z[unit, row, col] = sum_c sum_ij patch[c, i, j] * kernel[c, i, j] + bias[unit]

    ``patch``: the layer's input under the kernel's window, whose top-left corner is
    (row * stride - padding, col * stride - padding); zeros outside the input (padding).
    ``layer`` may also be the activation (or norm, dropout) right after a conv: the answer is
    that conv's, and ``after`` gives each such child's value at the same place, in order.
    -> {conv, input (name of the layer's input), unit, row, col, top, left, stride, padding,
    patch, kernel, products (C, k, k), channel_sums (C,), sum, bias, z, out (the conv's own
    output there, ``z``'s check), after [{name, kind, activation, value}]}."""
    conv, inp, outs = _place(model, x, layer, unit, row, col)
    by = explainable(model)
    if not isinstance(conv, nn.Conv2d):
        raise ProbeError.say("probe.layer", got=repr(layer), allowed=", ".join(
            n for n, c in by.items() if isinstance(getattr(model, c), nn.Conv2d)) or "-")
    name = by[layer]
    (sh, sw), (ph, pw), (kh, kw) = _pair(conv.stride), _pair(conv.padding), _pair(conv.kernel_size)
    padded = nn.functional.pad(inp, (pw, pw, ph, ph))                  # zeros around, (C, H+2p, W+2p)
    patch = padded[:, row * sh:row * sh + kh, col * sw:col * sw + kw]  # (C, kh, kw)
    kernel = conv.weight[unit]                                         # (C, kh, kw)
    products = patch * kernel
    channel_sums = products.sum((1, 2))
    total = channel_sums.sum()
    bias = conv.bias[unit] if conv.bias is not None else total.new_zeros(())
    names = list(outs)
    after = []
    for n in names[names.index(name) + 1:]:
        m = getattr(model, n)
        if by.get(n) != name:
            break
        after.append({"name": n, "kind": type(m).__name__, "activation": name_of(m),
                      "value": float(outs[n][0, unit, row, col])})
    f = lambda t: t.float().cpu().numpy()                              # noqa: E731
    return {"conv": name, "input": names[names.index(name) - 1] if names.index(name) else "input",
            "unit": unit, "row": row, "col": col, "top": row * sh - ph, "left": col * sw - pw,
            "stride": [sh, sw], "padding": [ph, pw], "patch": f(patch), "kernel": f(kernel),
            "products": f(products), "channel_sums": f(channel_sums), "sum": float(total),
            "bias": float(bias), "z": float(total + bias), "out": float(outs[name][0, unit, row, col]),
            "after": after, "input_map": f(inp)}


@torch.no_grad()
def pooling_at(model: nn.Sequential, x: torch.Tensor, layer: str, unit: int, row: int,
               col: int) -> dict:
    """One number of a pooling layer's output for image ``x`` (C, H, W): the window of channel
    ``unit`` of its input at (row * stride, col * stride), and what wins: max pooling keeps the
    largest value (``winner``: its (i, j) in the window), average pooling the mean.
    -> {pool, op ("max" | "avg"), input, unit, row, col, top, left, window (k, k), winner,
    value, out (the layer's own output there, ``value``'s check), input_map}."""
    pool, inp, outs = _place(model, x, layer, unit, row, col)
    if not isinstance(pool, POOLS):
        raise ProbeError.say("probe.layer", got=repr(layer),
                             allowed=", ".join(n for n, m in model.named_children() if isinstance(m, POOLS)) or "-")
    (kh, kw), (sh, sw) = _pair(pool.kernel_size), _pair(pool.stride)
    window = inp[unit, row * sh:row * sh + kh, col * sw:col * sw + kw]  # (k, k)
    is_max = isinstance(pool, nn.MaxPool2d)
    i = int(window.argmax())
    names = list(outs)
    return {"pool": layer, "op": "max" if is_max else "avg",
            "input": names[names.index(layer) - 1] if names.index(layer) else "input",
            "unit": unit, "row": row, "col": col, "top": row * sh, "left": col * sw,
            "window": window.float().cpu().numpy(), "winner": [i // kw, i % kw] if is_max else None,
            "value": float(window.max() if is_max else window.mean()),
            "out": float(outs[layer][0, unit, row, col]), "input_map": inp.float().cpu().numpy()}


@torch.no_grad()
def softmax_at(model: nn.Module, x: torch.Tensor) -> dict:
    """How the output layer's logits z become class probabilities for image ``x``:
    p_k = exp(z_k - max z) / sum_j exp(z_j - max z) (subtracting the max changes nothing but
    keeps exp from overflowing). One logit (two classes): z = [0, z], since
    sigmoid(z) = e^z / (e^0 + e^z). -> {logits, shifted, exps, sum, probs} (lists)."""
    dev = next(model.parameters()).device
    with eval_mode(model):
        z = model(x.to(dev).unsqueeze(0))[0].double()                # (K,)
    if z.numel() == 1:
        z = torch.cat([z.new_zeros(1), z])
    shifted = z - z.max()
    exps = shifted.exp()
    total = exps.sum()
    return {"logits": z.tolist(), "shifted": shifted.tolist(), "exps": exps.tolist(),
            "sum": float(total), "probs": (exps / total).tolist()}


def explain_at(model: nn.Sequential, x: torch.Tensor, layer: str, unit: int, row: int, col: int) -> dict:
    """``convolution_at`` or ``pooling_at``, whichever explains ``layer``'s output; ``kind``
    says which ("conv" or "pool")."""
    target = explainable(model).get(layer)
    if target is not None and isinstance(getattr(model, target), POOLS):
        return {"kind": "pool", **pooling_at(model, x, layer, unit, row, col)}
    return {"kind": "conv", **convolution_at(model, x, layer, unit, row, col)}


def conv_filters(model: nn.Module) -> dict[str, np.ndarray]:
    """Every conv layer's kernels, {layer: (filters, in_channels, k, k)}: one k x k kernel per
    filter and input channel."""
    return {n: m.weight.detach().float().cpu().numpy() for n, m in param_layers(model)
            if isinstance(m, nn.Conv2d)}
