"""Spec -> a plain ``torch.nn.Sequential`` with course-named children.

Children are named ``dense1, bn1, act1, drop1, ..., conv1, pool1, flatten1, ...,
lstm1, ..., out``. Sequences are (time steps x features) per sample, batch first. The output head follows the task: ``out`` gives 1 logit (binary: sigmoid
+ BCE; regression: raw value + MSE) or K logits (softmax + cross-entropy); the
sigmoid/softmax live in the loss and in ``predict`` for numerical stability.
With ``model.embedding`` (metric learning) the last layers are ``embed``, the
embedding, and ``out``, a normalized-softmax classifier over it.
A perceptron is ``hidden = []``: inputs -> out, nothing between.
Weights are drawn from ``generator`` and dropout masks from ``dropout_generator`` (a
session's own, see ``Trainer``): then the global RNG is never touched.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torch.nn.utils import skip_init

from ..spec import RECURRENT, LayerSpec, ModelSpec, SpecError
from . import activations
from .init import initialize, initialize_recurrent
from .layers import Conv1d, Dropout, NgramBag, NormalizedSoftmax, Recurrent

BUCKETS = 2**15   # ngram_bag's hash rows when the layer does not say (vocabulary)


def _mlp_layers(spec: ModelSpec) -> list[LayerSpec]:
    """The MLP shorthands (hidden, activation, batchnorm, dropout) as a layer list."""
    layers: list[LayerSpec] = []
    per_layer = spec.activations or []
    for i, width in enumerate(spec.hidden):
        act = per_layer[i] if i < len(per_layer) else spec.activation
        layers.append(LayerSpec(type="dense", units=width, activation="linear"))
        if spec.batchnorm:
            layers.append(LayerSpec(type="batchnorm"))
        if spec.layernorm:
            layers.append(LayerSpec(type="layernorm"))
        layers.append(LayerSpec(type="activation", activation=act, alpha=spec.alpha))
        if spec.dropout > 0:
            layers.append(LayerSpec(type="dropout", rate=spec.dropout))
    return layers


def _shape_str(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def build_model(spec: ModelSpec, input_shape: tuple[int, ...], out_dim: int,
                generator: torch.Generator | None = None,
                dropout_generator: torch.Generator | None = None,
                *, vocabulary: int | None = None, layers: list[LayerSpec] | None = None,
                field: str = "model.layers", out_shape: tuple[int, ...] | None = None) -> nn.Sequential:
    """Build the network; shape mismatches raise ``SpecError`` naming the layer.
    Either generator None: the global RNG, as PyTorch's own layers.
    ``vocabulary``: the data are character ids 0..vocabulary-1 (text), read by a first
    ``embedding`` or ``ngram_bag`` layer.
    ``layers``/``field``: another stack than ``model.layers`` (a generative model's encoder,
    decoder, generator, discriminator). ``out_shape``: the output is that shape (an image for
    a decoder) instead of ``out_dim`` logits; a stack already ending in it gets no head."""
    explicit = layers is not None or spec.layers is not None
    layers = layers if layers is not None else spec.layers if explicit else _mlp_layers(spec)
    if vocabulary is not None and (not layers or layers[0].type not in ("embedding", "ngram_bag")):
        raise SpecError.say("model.text_first", where="model.layers[0]" if explicit and layers else "model.layers")
    mods: OrderedDict[str, nn.Module] = OrderedDict()
    count: dict[str, int] = {}
    shape = tuple(input_shape)

    def add(kind: str, module: nn.Module) -> None:
        count[kind] = count.get(kind, 0) + 1
        mods[f"{kind}{count[kind]}"] = module

    def where(i: int, layer: LayerSpec) -> str:
        return f"{field}[{i}] ({layer.type})" if explicit else f"model.hidden ({layer.type})"

    def add_activation(name: str, alpha: float) -> None:
        nonlocal shape
        add("act", activations.make(name, shape[0], alpha))
        shape = (shape[0] * activations.width_factor(name), *shape[1:])

    for i, L in enumerate(layers):
        act = L.activation if L.activation is not None else spec.activation
        if L.type == "dense":
            if len(shape) != 1:
                raise SpecError(f"{where(i, L)}: gets an input of shape {_shape_str(shape)}; "
                                f"add a layer of type 'flatten' before it")
            lin = skip_init(nn.Linear, shape[0], L.units)   # no draw from the global RNG
            initialize(lin, L.init or spec.init, generator)
            add("dense", lin)
            shape = (L.units,)
            if act != "linear":
                add_activation(act, L.alpha if L.activation else spec.alpha)
        elif L.type == "conv2d":
            if len(shape) != 3:
                raise SpecError(f"{where(i, L)}: needs an image input (channels x height x width), "
                                f"got shape {_shape_str(shape)}")
            pad = _padding(where(i, L), L)
            c, h, w = shape
            h2, w2 = _out_size(h, pad, L), _out_size(w, pad, L)
            if h2 < 1 or w2 < 1:
                raise SpecError(f"{where(i, L)}: kernel {L.kernel} does not fit an input of "
                                f"{h}x{w} with padding '{L.padding}'; use a smaller kernel or "
                                f"padding 'same'")
            conv = skip_init(nn.Conv2d, c, L.filters, L.kernel, stride=L.stride or 1, padding=pad)
            initialize(conv, L.init or spec.init, generator)
            add("conv", conv)
            shape = (L.filters, h2, w2)
            if act != "linear":
                add_activation(act, L.alpha if L.activation else spec.alpha)
        elif L.type in RECURRENT:
            if len(shape) != 2:
                raise SpecError(f"{where(i, L)}: needs a sequence input (time steps x features), "
                                f"got shape {_shape_str(shape)}")
            rec = Recurrent(L.type, shape[1], L.units, L.num_layers, L.bidirectional, L.dropout,
                            L.return_sequences, dropout_generator)
            for layer in rec.layers:
                initialize_recurrent(layer, L.init or spec.init, generator)
            add(L.type, rec)
            width = L.units * (2 if L.bidirectional else 1)
            shape = (shape[0], width) if L.return_sequences else (width,)
            if L.activation not in (None, "linear"):   # the outputs are already tanh-squashed
                add_activation(L.activation, L.alpha)
        elif L.type == "conv1d":
            if len(shape) != 2:
                raise SpecError(f"{where(i, L)}: needs a sequence input (time steps x features), "
                                f"got shape {_shape_str(shape)}")
            pad = _padding(where(i, L), L)
            steps = _out_size(shape[0], pad, L)
            if steps < 1:
                raise SpecError(f"{where(i, L)}: kernel {L.kernel} does not fit a sequence of "
                                f"{shape[0]} steps with padding '{L.padding}'; use a smaller kernel "
                                f"or padding 'same'")
            conv = skip_init(Conv1d, shape[1], L.filters, L.kernel, stride=L.stride or 1, padding=pad)
            initialize(conv, L.init or spec.init, generator)
            add("conv", conv)
            shape = (steps, L.filters)
            if act != "linear":
                add_activation(act, L.alpha if L.activation else spec.alpha)
        elif L.type == "conv_transpose2d":   # upsampling: out = (in - 1) * stride + kernel - 2 pad
            if len(shape) != 3:
                raise SpecError(f"{where(i, L)}: needs an image input (channels x height x width), "
                                f"got shape {_shape_str(shape)}; add a layer of type 'reshape' before it")
            stride = L.stride or 1
            if L.padding == "same" and (L.kernel - stride) % 2 and stride == 1:
                raise SpecError(f"{where(i, L)}: padding 'same' with stride 1 keeps the size only "
                                f"with an odd kernel (1, 3, 5, ...); received kernel {L.kernel}")
            pad = (L.kernel - stride + 1) // 2 if L.padding == "same" else 0   # 'same': size x stride
            extra = (L.kernel - stride) % 2 if L.padding == "same" else 0
            c, h, w = shape
            h2, w2 = ((n - 1) * stride + L.kernel - 2 * pad + extra for n in (h, w))
            conv = skip_init(nn.ConvTranspose2d, c, L.filters, L.kernel, stride=stride, padding=pad,
                             output_padding=extra)
            initialize(conv, L.init or spec.init, generator)
            add("deconv", conv)
            shape = (L.filters, h2, w2)
            if act != "linear":
                add_activation(act, L.alpha if L.activation else spec.alpha)
        elif L.type == "reshape":
            if _prod(shape) != _prod(tuple(L.shape)):
                raise SpecError(f"{where(i, L)}: cannot reshape {_shape_str(shape)} "
                                f"({_prod(shape)} values) to {_shape_str(tuple(L.shape))}")
            add("reshape", nn.Unflatten(1, tuple(L.shape)) if len(shape) == 1 else
                nn.Sequential(nn.Flatten(), nn.Unflatten(1, tuple(L.shape))))
            shape = tuple(L.shape)
        elif L.type in ("maxpool2d", "avgpool2d"):
            if len(shape) != 3:
                raise SpecError(f"{where(i, L)}: needs an image input, got shape {_shape_str(shape)}")
            stride = L.stride or L.kernel
            c, h, w = shape
            h2, w2 = (h - L.kernel) // stride + 1, (w - L.kernel) // stride + 1
            if h2 < 1 or w2 < 1:
                raise SpecError(f"{where(i, L)}: pool size {L.kernel} is larger than its input "
                                f"{h}x{w}; use fewer pooling layers or a smaller size")
            pool = nn.MaxPool2d(L.kernel, stride) if L.type == "maxpool2d" else nn.AvgPool2d(L.kernel, stride)
            add("pool", pool)
            shape = (c, h2, w2)
        elif L.type in ("embedding", "ngram_bag"):
            if i > 0 or len(shape) != 1:
                raise SpecError.say("model.text_layer", where=where(i, L))
            rows = L.vocabulary or (vocabulary if L.type == "embedding" else BUCKETS)
            if rows is None or (L.type == "embedding" and vocabulary and rows < vocabulary):
                raise SpecError.say("model.vocabulary", where=where(i, L), got=L.vocabulary or "-",
                                    need=vocabulary or "-")
            if L.type == "embedding":   # PyTorch's N(0, 1) draw, from the generator; padding row 0
                emb = skip_init(nn.Embedding, rows, L.dim, padding_idx=0)
                with torch.no_grad():
                    emb.weight.normal_(generator=generator)
                    emb.weight[0] = 0
                add("embed", emb)
                shape = (shape[0], L.dim)
            else:
                if shape[0] < L.ngrams:
                    raise SpecError.say("model.ngrams_window", where=where(i, L), n=L.ngrams, window=shape[0])
                add("bag", NgramBag(rows, L.dim, L.ngrams, generator))
                shape = (L.dim,)
        elif L.type == "flatten":
            add("flatten", nn.Flatten())
            shape = (int(_prod(shape)),)
        elif L.type == "dropout":
            add("drop", Dropout(L.rate, dropout_generator))
        elif L.type == "batchnorm":
            if len(shape) == 2:
                raise SpecError(f"{where(i, L)}: batch norm over a sequence (time steps x features) "
                                f"is not supported; use a layer of type 'layernorm'")
            add("bn", nn.BatchNorm1d(shape[0]) if len(shape) == 1 else nn.BatchNorm2d(shape[0]))
        elif L.type == "layernorm":
            add("ln", nn.LayerNorm(list(shape)))
        elif L.type == "activation":
            add_activation(L.activation, L.alpha)
    if out_shape is not None and shape == tuple(out_shape):
        return nn.Sequential(mods)
    if out_shape is not None and len(shape) == 3:
        raise SpecError.say("gen.out_shape", field=field, got=_shape_str(shape), want=_shape_str(tuple(out_shape)))
    if len(shape) != 1:
        add("flatten", nn.Flatten())
        shape = (int(_prod(shape)),)
    if spec.embedding is not None:   # metric learning: embedding -> normalized softmax
        if out_dim < 2:
            raise SpecError.say("model.embedding_task")
        embed = skip_init(nn.Linear, shape[0], spec.embedding)
        initialize(embed, spec.init, generator)
        mods["embed"] = embed
        head = skip_init(NormalizedSoftmax, spec.embedding, out_dim, spec.temperature)
    else:
        head = skip_init(nn.Linear, shape[0], out_dim if out_shape is None else _prod(tuple(out_shape)))
    initialize(head, spec.init, generator)
    mods["out"] = head
    if out_shape is not None and len(out_shape) > 1:
        mods["reshape_out"] = nn.Unflatten(1, tuple(out_shape))
    return nn.Sequential(mods)


def _padding(where: str, L: LayerSpec) -> int:
    """A convolution's padding: 'same' keeps the size, which needs an odd kernel."""
    if L.padding == "same" and L.kernel % 2 == 0:
        raise SpecError(f"{where}: padding 'same' keeps the size only with an odd "
                        f"kernel (1, 3, 5, ...); received kernel {L.kernel}")
    return L.kernel // 2 if L.padding == "same" else 0


def _out_size(n: int, pad: int, L: LayerSpec) -> int:
    """A convolution's output length along one axis of length ``n``."""
    return (n + 2 * pad - L.kernel) // (L.stride or 1) + 1


def _prod(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
