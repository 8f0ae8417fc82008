"""The experiment spec: one typed object for data, model and training.

Precedence is fixed: defaults < TOML file < ``--set key=value`` overrides.
Unknown keys are errors, and every error names the field and what is allowed.
The same object round-trips TOML <-> Spec <-> JSON (the playground's URL state).
"""
from __future__ import annotations

import json
import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer, model_validator

from .i18n import t

# --- vocabularies (the course's names) -------------------------------------
Toy2D = Literal["circle", "xor", "gauss", "spiral", "moons", "reg-plane", "reg-gauss"]
DataName = Literal["circle", "xor", "gauss", "spiral", "moons", "reg-plane", "reg-gauss",
                   "digits", "idx", "csv", "points", "series", "adding", "text", "folder", "ring", "grid"]
Series = Literal["sines", "sunspots", "co2", "nile", "elnino", "csv"]   # data.series sources
Feature = Literal["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
Activation = Literal["step", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "prelu",
                     "crelu", "gelu", "softmax"]
Init = Literal["default", "xavier_normal", "xavier_uniform", "he_normal", "he_uniform",
               "lecun_normal", "lecun_uniform", "zeros"]
LayerType = Literal["dense", "conv2d", "maxpool2d", "avgpool2d", "flatten", "dropout",
                    "batchnorm", "layernorm", "activation",
                    "rnn", "lstm", "gru", "conv1d", "embedding", "ngram_bag", "conv_transpose2d", "reshape"]
RECURRENT = ("rnn", "lstm", "gru")    # layer types that carry a state over time steps
ModelKind = Literal["classifier", "autoencoder", "vae", "gan"]
# Each layer type's own fields of LayerSpec (the others do not apply to it, and a layer's
# dict leaves them out), its main one first; ``alpha`` goes with activation = "leaky_relu".
_CONV = ("filters", "kernel", "stride", "padding", "activation", "alpha", "init")
_RNN = ("units", "return_sequences", "bidirectional", "num_layers", "dropout", "activation", "alpha", "init")
LAYER_FIELDS: dict[str, tuple[str, ...]] = {
    "dense": ("units", "activation", "alpha", "init"), "conv2d": _CONV,
    "maxpool2d": ("kernel", "stride"), "avgpool2d": ("kernel", "stride"), "flatten": (),
    "dropout": ("rate",), "batchnorm": (), "layernorm": (), "activation": ("activation", "alpha"),
    "rnn": _RNN, "lstm": _RNN, "gru": _RNN, "conv1d": _CONV,
    "embedding": ("dim", "vocabulary"), "ngram_bag": ("dim", "vocabulary", "ngrams"),
    "conv_transpose2d": _CONV, "reshape": ("shape",)}
# What a new layer starts from where the spec has no default or a poor one (the playground's
# "add block"): the required sizes, a pool that halves, a milder dropout
LAYER_START: dict[str, dict[str, Any]] = {
    "dense": {"units": 32}, "conv2d": {"filters": 8}, "conv1d": {"filters": 8},
    "maxpool2d": {"kernel": 2}, "avgpool2d": {"kernel": 2}, "dropout": {"rate": 0.25},
    "rnn": {"units": 16}, "lstm": {"units": 16}, "gru": {"units": 16},
    "embedding": {"dim": 16}, "ngram_bag": {"dim": 16}, "activation": {"activation": "relu"},
    "conv_transpose2d": {"filters": 8, "stride": 2}, "reshape": {"shape": [8, 2, 2]}}
# The blocks of an image network (the CNN lesson) and those of them that go before its flatten
IMAGE_LAYERS = ("conv2d", "maxpool2d", "avgpool2d", "dense", "dropout", "batchnorm", "layernorm", "flatten")
BEFORE_FLATTEN = ("conv2d", "maxpool2d", "avgpool2d", "batchnorm")
Optimizer = Literal["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
                    "radam", "adabound", "adabelief"]
Schedule = Literal["none", "step", "cosine", "onecycle"]
Regularization = Literal["none", "l1", "l2"]
Metric = Literal["val_loss", "val_accuracy", "val_mse"]
Transform = Literal["shift", "rotate", "flip", "noise", "erase", "cutmix", "mixup"]

# Aliases accepted in specs and the playground, mapped to canonical names.
FEATURE_ALIASES = {"x1**2": "x1^2", "x1x1": "x1^2", "x2**2": "x2^2", "x2x2": "x2^2",
                   "x1x2": "x1*x2", "sinx1": "sin(x1)", "sinx2": "sin(x2)"}
INIT_ALIASES = {"xavier": "xavier_normal", "glorot": "xavier_normal", "he": "he_normal",
                "kaiming": "he_normal", "lecun": "lecun_normal"}


# Bounds checked before anything is allocated (nnplay.data relies on them).
MAX_CLASSES = 10              # class labels are 0..MAX_CLASSES-1 (data.classes, points, csv, idx)
DATA_SEED_MAX = 2**32 - 1     # data.seed seeds numpy's RandomState (scikit-learn's splits)
TRAIN_SEED_MAX = 2**63 - 1    # train.seed seeds torch.manual_seed (int64)
POINT_MAX = 1e6               # |x1|, |x2| of data.points: x1^2, x1*x2 stay finite in float32
MAX_DEPTH = 16                # nesting of tables and lists (a real spec needs 3)


def _init_alias(v: Any) -> Any:
    """Accept short initializer names ("he", "xavier") in layer and model sections."""
    if isinstance(v, dict) and isinstance(v.get("init"), str) and v["init"] in INIT_ALIASES:
        v = {**v, "init": INIT_ALIASES[v["init"]]}
    return v


def ui(**hints: Any) -> Any:
    """Hints for the playground's control of a field (JSON schema ``"ui"``): ``choices`` (a
    menu), ``slider`` ({min, max, step}; a missing max is the field's own), ``start`` (the
    value a control sets when it first turns the field on)."""
    return Field(json_schema_extra={"ui": hints})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class AugmentSpec(_Strict):
    """One transform of ``data.augment``: kornia applies it to training batches only, each
    sample drawn with probability ``p``. Unset amounts take the transform's default
    (nnplay.data.augment.DEFAULTS)."""
    type: Transform
    p: Annotated[float, Field(ge=0, le=1)] = 0.5
    shift: Annotated[float, Field(gt=0, le=0.5)] | None = None     # shift: most share of the side moved
    degrees: Annotated[float, Field(gt=0, le=180)] | None = None   # rotate: most angle either way
    std: Annotated[float, Field(gt=0, le=1)] | None = None         # noise: Gaussian std
    area: Annotated[float, Field(gt=0, le=1)] | None = None        # erase: largest share of the image


class DataSpec(_Strict):
    """Where the samples come from and how they are split."""
    name: DataName = "spiral"
    noise: Annotated[float, Field(ge=0, le=1)] = 0.0      # toy sets: std of added noise (0..1)
    samples: Annotated[int, Field(ge=10, le=200_000), ui(slider={"min": 100, "step": 100})] = 500   # generated sets
    limit: Annotated[Annotated[int, Field(ge=10)] | None, ui(start=6000)] = None   # digits/idx/csv: use at most this many
    classes: Annotated[int, Field(ge=2, le=MAX_CLASSES)] = 2       # toy classification sets
    train_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.5  # share for train+val, rest is test
    val_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.2    # share of the train part held out
    seed: Annotated[int, Field(ge=0, le=DATA_SEED_MAX)] = 0
    features: list[Feature] = Field(default_factory=lambda: ["x1", "x2"])
    path: str | None = None        # idx: folder or file prefix; csv: file
    target: str | None = None      # csv: name of the target column
    task: Literal["auto", "classification", "regression"] = "auto"  # csv
    resample: Literal["none", "smote", "oversample"] = "none"   # class imbalance: oversample train set (SMOTE or copies)
    scale: Literal["unit", "standard"] = "unit"   # images: [0,1] or per-pixel standardized
    points: Annotated[list[list[float]], Field(max_length=200_000)] | None = None  # name="points": [[x1, x2, label], ...]
    # sequences. series: generated "sines" (data.samples steps, data.noise), a series shipped in
    # statsmodels, or "csv": the column data.target of the file data.path, top to bottom
    series: Series = "sines"
    window: Annotated[int, Field(ge=1, le=1000)] = 12     # series: past steps the model sees
    horizon: Annotated[int, Field(ge=1, le=100)] = 1      # series: future steps it forecasts
    period: Annotated[int, Field(ge=2, le=1000)] | None = None   # series: season length (seasonal naive); known sources set it
    test_steps: Annotated[int, Field(ge=1, le=1_000_000)] | None = None  # series: the last steps are the test period (else train_ratio)
    length: Annotated[int, Field(ge=2, le=1000)] = 50     # adding: time steps per sequence
    # text: a character model on data.path (a UTF-8 file) or, without a path, on Korean text
    # shipped in konlpy's wheel; csv with data.text: text classification (data.target: labels).
    # data.window: the characters read before the next one (text); kept per text (csv text).
    # data.limit: text keeps its first that many characters; csv texts that many rows
    corpus: Literal["constitution", "bills"] = "constitution"   # text: which shipped text
    text: str | None = None        # csv: name of the text column (text classification)
    # --- practice with real data (issue 12) ---
    size: Annotated[Annotated[int, Field(ge=4, le=256)] | None, ui(start=32)] = None   # folder: resize every image to size x size
    augment: Annotated[list[AugmentSpec], Field(max_length=16)] = Field(default_factory=list)  # training batches only
    keep_classes: Annotated[list[Annotated[int, Field(ge=0, lt=MAX_CLASSES)]], Field(min_length=2, max_length=MAX_CLASSES)] | None = None  # keep these classes, relabelled 0.. in this order
    rare_class: Annotated[int, Field(ge=0, lt=MAX_CLASSES)] | None = None  # make this class rare in train+val (test kept)
    rare_share: Annotated[float, Field(gt=0, le=1)] = 0.1     # share of the rare class's train+val samples kept

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, v: Any) -> Any:
        if isinstance(v, dict) and isinstance(v.get("features"), list):
            v = {**v, "features": [FEATURE_ALIASES.get(str(f).replace(" ", ""), f)
                                   for f in v["features"]]}
        return v

    @model_validator(mode="after")
    def _check(self) -> "DataSpec":
        if not self.features:
            raise ValueError("data.features must list at least one input feature")
        if self.name in ("idx", "csv", "folder") and not self.path:
            raise ValueError(f"data.path is required when data.name = {self.name!r}")
        if self.name == "csv" and not self.target:
            raise ValueError("data.target (the target column's name) is required for csv data")
        if self.name == "series" and self.series == "csv" and not (self.path and self.target):
            raise ValueError("data.series = 'csv' needs data.path (the file) and data.target "
                             "(the column to forecast)")
        if self.name == "points" and not self.points:
            raise ValueError("data.points must hold [x1, x2, label] rows when data.name = 'points'")
        for i, row in enumerate(self.points or []):
            _check_point(i, row)
        return self


def _check_point(i: int, row: list[float]) -> None:
    """One ``data.points`` row: ``[x1, x2, label]``, label a class 0..9 (checked before any
    array is made from the labels: a label of 1e9 would otherwise size arrays by it)."""
    if len(row) != 3:
        raise ValueError(f"data.points[{i}]: each row must be [x1, x2, label]; received {len(row)} "
                         f"value(s): {shorten(row)}")
    if max(abs(row[0]), abs(row[1])) > POINT_MAX:
        raise ValueError(f"data.points[{i}]: x1 and x2 must lie between -{POINT_MAX:g} and "
                         f"{POINT_MAX:g}; received {shorten(row[:2])}")
    label = row[2]
    if label != int(label) or not 0 <= label < MAX_CLASSES:
        raise ValueError(f"data.points[{i}]: the label must be a whole number from 0 to "
                         f"{MAX_CLASSES - 1} (at most {MAX_CLASSES} classes); received {label:g}")


def shorten(v: Any, most: int = 80) -> str:
    """``repr(v)``, cut in the middle to ``most`` characters: a message stays one readable
    line and keeps both ends (a path keeps its file name)."""
    text = repr(v)
    if len(text) <= most:
        return text
    half = (most - 3) // 2
    return text[:most - 3 - half] + "..." + text[-half:]


# A field marked LIVE changes while a network trains (Trainer.update / update_model, between
# epochs); a change to any other field rebuilds data and network. The mark is the one source:
# the Trainer, the playground's server and the JSON schema ("live": true) read it.
# ``live(...)`` also names what a change rebuilds at the position reached ("optimizer": its
# hyper-parameters set in place, or a new one for another kind; "schedule"; "loss"); plain
# LIVE fields are read afresh at every step or epoch and rebuild nothing (Trainer.update).
REBUILDS = ("optimizer", "schedule", "loss")


def live(*rebuilds: str):
    assert set(rebuilds) <= set(REBUILDS), rebuilds
    return Field(json_schema_extra={"live": True, **({"rebuilds": list(rebuilds)} if rebuilds else {})})


LIVE = live()


def live_fields(section: type[BaseModel]) -> frozenset[str]:
    """The names of ``section``'s fields marked LIVE."""
    return frozenset(n for n, f in section.model_fields.items()
                     if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("live"))


def rebuilds(section: type[BaseModel], name: str) -> frozenset[str]:
    """What a live change of ``section.name`` rebuilds (a subset of REBUILDS; empty: read as it is)."""
    extra = section.model_fields[name].json_schema_extra
    return frozenset(extra.get("rebuilds", ()) if isinstance(extra, dict) else ())


class LayerSpec(_Strict):
    """One layer of an explicit stack (``model.layers``)."""
    type: LayerType
    units: Annotated[int, Field(ge=1, le=4096)] | None = None       # dense, rnn/lstm/gru
    filters: Annotated[int, Field(ge=1, le=512)] | None = None      # conv2d, conv1d, conv_transpose2d
    shape: Annotated[list[Annotated[int, Field(ge=1, le=4096)]], Field(min_length=1, max_length=3)] | None = None  # reshape: (C, H, W) or (units,)
    kernel: Annotated[int, Field(ge=1, le=11)] = 3                  # conv2d/1d, pools (size)
    stride: Annotated[int, Field(ge=1, le=8)] | None = None         # conv2d/1d: 1; pools: kernel
    padding: Literal["same", "valid"] = "same"                      # conv2d/1d
    rate: Annotated[float, Field(ge=0, lt=1)] = 0.5                 # dropout
    activation: Activation | None = None                            # dense/conv2d/activation
    alpha: Annotated[float, Field(ge=0, le=1)] = 0.01               # leaky_relu slope
    init: Init | None = None
    # rnn/lstm/gru (inputs: time steps x features)
    return_sequences: bool = False    # every step's output (T x units), else the last one
    bidirectional: bool = False       # a second pass backwards in time; outputs concatenated
    num_layers: Annotated[int, Field(ge=1, le=8)] = 1               # stacked layers
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0              # between stacked layers
    # embedding: characters -> vectors; ngram_bag: fastText's bag of hashed character n-grams
    vocabulary: Annotated[int, Field(ge=2, le=2**20)] | None = None  # embedding: ids (default: the data's); ngram_bag: hash buckets (default 2**15)
    dim: Annotated[int, Field(ge=1, le=1024)] | None = None         # embedding, ngram_bag: vector length
    ngrams: Annotated[int, Field(ge=1, le=5)] = 3                   # ngram_bag: n-grams of 1..ngrams characters

    _aliases = model_validator(mode="before")(classmethod(lambda cls, v: _init_alias(v)))

    @model_serializer(mode="wrap")
    def _own_fields(self, handler) -> dict:
        """Only the fields of this layer type (a conv2d layer has no dropout rate)."""
        own = LAYER_FIELDS[self.type]
        keep = {"type", *own} - ({"alpha"} if self.activation != "leaky_relu" else set())
        return {k: v for k, v in handler(self).items() if k in keep}

    @model_validator(mode="after")
    def _check(self) -> "LayerSpec":
        if self.type in ("embedding", "ngram_bag") and self.dim is None:
            raise ValueError(f"an {self.type} layer needs 'dim' (the vector length, an integer >= 1)")
        if self.type == "dense" and self.units is None:
            raise ValueError("a dense layer needs 'units' (an integer >= 1)")
        if self.type in RECURRENT and self.units is None:
            raise ValueError(f"a {self.type} layer needs 'units' (an integer >= 1)")
        if self.type in ("conv2d", "conv1d", "conv_transpose2d") and self.filters is None:
            raise ValueError(f"a {self.type} layer needs 'filters' (an integer >= 1)")
        if self.type == "reshape" and self.shape is None:
            raise ValueError("a reshape layer needs 'shape' ([channels, height, width] or [units])")
        if self.type == "activation" and self.activation is None:
            raise ValueError("an activation layer needs 'activation'")
        return self


class ModelSpec(_Strict):
    """The network: MLP shorthands, or an explicit ``layers`` list (CNNs)."""
    hidden: list[Annotated[int, Field(ge=1, le=4096)]] = Field(default_factory=lambda: [8, 8])
    # hidden layers' default; softmax only as an output (its units compete)
    activation: Annotated[Activation, ui(choices=[a for a in get_args(Activation) if a != "softmax"])] = "tanh"
    activations: list[Activation] | None = None  # per hidden layer i (overrides activation)
    init: Init = "xavier_uniform"        # "default": PyTorch's own scheme, every layer
    dropout: Annotated[float, Field(ge=0, lt=1), ui(choices=[0, 0.1, 0.2, 0.3, 0.5])] = 0.0
    batchnorm: bool = False              # before the activation, as in the course
    layernorm: bool = False
    alpha: Annotated[float, Field(ge=0, le=1)] = 0.01  # leaky_relu slope
    layers: list[LayerSpec] | None = None
    regularization: Annotated[Regularization, LIVE] = "none"
    reg_rate: Annotated[float, Field(ge=0, le=10), LIVE,
                        ui(choices=[0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10], start=0.001)] = 0.0
    label_smoothing: Annotated[float, Field(ge=0, lt=1), live("loss"), ui(choices=[0, 0.05, 0.1, 0.2])] = 0.0
    # metric learning: the network ends in an embedding of this size, L2-normalized and
    # classified by a normalized softmax (cosine / temperature; Zhai & Wu 2019); retrieval
    # by cosine similarity is then measured on the test split (nnplay.retrieval)
    embedding: Annotated[Annotated[int, Field(ge=2, le=4096)] | None, ui(start=16)] = None
    temperature: Annotated[float, Field(gt=0, le=1)] = 0.05
    freeze: Annotated[list[str], Field(max_length=64)] = Field(default_factory=list)  # layer names kept fixed; "features": all before the first dense layer
    # generative models (nnplay.generative): the stacks default to model.hidden (decoder and
    # generator: reversed); the output layer that gives the data's shape is added
    kind: ModelKind = "classifier"
    latent: Annotated[int, Field(ge=1, le=512)] = 2      # bottleneck / code / noise size
    encoder: list[LayerSpec] | None = None               # autoencoder, vae: input -> code
    decoder: list[LayerSpec] | None = None               # autoencoder, vae: code -> input
    generator: list[LayerSpec] | None = None             # gan: noise -> sample
    discriminator: list[LayerSpec] | None = None         # gan: sample -> real/fake logit
    beta: Annotated[float, Field(ge=0, le=100)] = 1.0    # vae: weight of the KL term (beta-VAE)
    noise: Literal["gaussian", "uniform"] = "gaussian"   # gan: the noise G maps; vae prior is gaussian
    denoise: Annotated[float, Field(ge=0, le=1)] = 0.0   # autoencoder: std of noise added to inputs
    pack: Annotated[int, Field(ge=1, le=8)] = 1          # gan: PacGAN, D judges this many samples at once
    spectral_norm: bool = False                          # gan: spectral norm on D's weights

    _aliases = model_validator(mode="before")(classmethod(lambda cls, v: _init_alias(v)))

    @model_validator(mode="after")
    def _check(self) -> "ModelSpec":
        if self.activations is not None and len(self.activations) > len(self.hidden):
            raise ValueError(f"model.activations has {len(self.activations)} entries but "
                             f"model.hidden has {len(self.hidden)} layers; give at most one per "
                             f"hidden layer (missing ones use model.activation)")
        return self


class EarlyStopping(_Strict):
    patience: Annotated[int, Field(ge=0)] = 0    # 0 = off
    metric: Metric = "val_loss"
    min_delta: Annotated[float, Field(ge=0)] = 0.0


class AdversarialSpec(_Strict):
    """Adversarial training: each batch is replaced by attacked copies (nnplay.trust)."""
    method: Literal["none", "fgsm", "pgd"] = "none"
    eps: Annotated[float, Field(ge=0, le=1), ui(slider={"min": 0, "max": 0.5, "step": 0.01})] = 0.1
    steps: Annotated[int, Field(ge=1, le=100)] = 7      # pgd
    mix: Annotated[float, Field(ge=0, le=1)] = 0.5      # share of each batch that is attacked


class GanTrainSpec(_Strict):
    """A GAN's two players, trained in turn: D-steps, then G-steps through a frozen D."""
    d_optimizer: Optimizer = "adam"
    d_lr: Annotated[float, Field(gt=0, le=10)] = 0.001
    g_optimizer: Optimizer = "adam"
    g_lr: Annotated[float, Field(gt=0, le=10)] = 0.001
    beta1: Annotated[float, Field(ge=0, lt=1)] = 0.5     # adam family: first-moment decay (DCGAN's 0.5)
    d_steps: Annotated[int, Field(ge=1, le=100)] = 1      # discriminator updates per round
    g_steps: Annotated[int, Field(ge=1, le=100)] = 1      # generator updates per round
    loss: Literal["log", "least_squares"] = "log"        # GAN's log loss (non-saturating G), or LSGAN
    freeze_d: bool = True          # off: D's weights also move during G's step (the lesson)


class TrainSpec(_Strict):
    """How the weights are fitted."""
    optimizer: Annotated[Optimizer, live("optimizer", "schedule")] = "adam"
    lr: Annotated[float, Field(gt=0, le=10), live("schedule"),
                  ui(choices=[0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10])] = 0.01
    momentum: Annotated[float, Field(ge=0, lt=1), live("optimizer")] = 0.9    # momentum/nesterov
    weight_decay: Annotated[float, Field(ge=0, le=1), live("optimizer")] = 0.0  # 0 = none for every optimizer (adamw too)
    batch_size: Annotated[int, Field(ge=1, le=65_536), live("schedule")] = 32
    epochs: Annotated[int, Field(ge=1, le=100_000), live("schedule")] = 100
    seed: Annotated[int, Field(ge=0, le=TRAIN_SEED_MAX)] = 0
    schedule: Annotated[Schedule, live("schedule")] = "none"
    step_size: Annotated[int, Field(ge=1), live("schedule")] = 30       # step schedule: epochs per decay
    gamma: Annotated[float, Field(gt=0, le=1), live("schedule")] = 0.1  # step schedule: decay factor
    early_stopping: Annotated[EarlyStopping, LIVE] = Field(default_factory=EarlyStopping)
    class_weights: Literal["none", "balanced"] = "none"
    device: Literal["auto", "cpu", "cuda"] = "cpu"
    amp: Literal["auto", True, False] = "auto"   # mixed precision on CUDA; auto: where it pays (train/precision.py)
    compile: Annotated[bool, LIVE] = False            # compiled step (train/compiled.py), built in the background
    probe_every: Annotated[int, Field(ge=0), LIVE] = 1      # epochs between probes; 0 = off
    checkpoint_every: Annotated[int, Field(ge=1), LIVE] = 10  # epochs between resumable checkpoints
    adversarial: AdversarialSpec = Field(default_factory=AdversarialSpec)
    # metric learning (model.embedding): a pytorch-metric-learning loss trains the embedding on
    # the pairs or triplets a miner picks in each batch; the normalized-softmax head then only
    # reads the embedding (its gradient stops there), so accuracy still means something
    metric_loss: Literal["none", "triplet", "contrastive"] = "none"
    miner: Literal["none", "batch_hard", "multi_similarity"] = "none"
    triplet_margin: Annotated[float, Field(gt=0, le=2)] = 0.2   # d(a, n) >= d(a, p) + margin
    tta: Annotated[int, Field(ge=0, le=64)] = 0      # test-time augmentation: average N augmented copies (0 = off)
    gan: Annotated[GanTrainSpec, LIVE] = Field(default_factory=GanTrainSpec)   # model.kind = "gan"


class Spec(_Strict):
    """A whole experiment: ``data`` -> ``model`` -> ``train``."""
    name: str = "experiment"
    data: DataSpec = Field(default_factory=DataSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)

    # --- round trips --------------------------------------------------------
    def to_dict(self) -> dict:
        return self.model_dump(mode="json", exclude_none=True)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


class UserError(ValueError):
    """Something the user can fix (a spec, a run id, a file, a message): the message names the
    field and the allowed values. The CLI exits 2 with it; the server answers an error frame.

    Raised from validation it also holds ``problems`` ({where, kind, ctx, got, allowed}),
    which ``render`` words in English or Korean (the CLI's ``--lang``)."""

    def __init__(self, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.problems = problems or []
        self.words: tuple[str, dict] | None = None

    @classmethod
    def say(cls, key: str, **kw) -> "UserError":
        """An error worded by the i18n message ``key``; a ``kw`` value that is a (key, kw)
        pair is worded in the same language."""
        e = cls(_words(key, kw, "en"))
        e.words = (key, kw)
        return e

    def render(self, lang: str = "en") -> str:
        if self.words is not None:
            return _words(*self.words, lang)
        return _render(self.problems, lang) if self.problems else str(self)


class SpecError(UserError):
    """A spec field the user can fix (one kind of ``UserError``)."""


def _words(key: str, kw: dict, lang: str) -> str:
    return t(key, lang, **{k: _words(*v, lang) if isinstance(v, tuple) else v for k, v in kw.items()})


MAX_PROBLEMS = 5   # a message names at most this many problems (200,000 bad points: one line)


def _render(problems: list[dict], lang: str) -> str:
    shown = [_problem_text(p, lang) for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        shown.append(t("spec.more", lang, n=len(problems) - MAX_PROBLEMS))
    return " ".join([t("spec.invalid", lang), *shown])


# pydantic error types -> message keys (i18n "spec.*"); others keep pydantic's English text
_KINDS = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt", "less_than_equal": "le",
          "missing": "missing", "int_parsing": "int", "int_type": "int", "int_from_float": "int",
          "float_parsing": "float", "float_type": "float", "bool_parsing": "bool", "bool_type": "bool",
          "string_type": "str", "list_type": "list", "too_short": "too_short", "too_long": "too_long",
          "finite_number": "finite", "model_type": "table", "dict_type": "table"}


def _problem_text(p: dict, lang: str) -> str:
    kind, ctx = p["kind"], p.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"{p['where']}: " + t("spec.unknown_key", lang, allowed=p["allowed"])
    if kind == "literal_error":
        text = t("spec.one_of", lang, allowed=p["allowed"])
    elif kind in _KINDS:
        shown = {k: f"{v:g}" if isinstance(v, float) else v for k, v in ctx.items()
                 if isinstance(v, (int, float, str))}
        text = t(f"spec.{_KINDS[kind]}", lang, **shown)
    else:
        text = p["msg"]
    line = f"{p['where']}: {text}"
    if kind != "missing" and "got" in p:
        line += " (" + t("spec.received", lang, got=p["got"]) + ")"
    if p.get("allowed") and kind != "literal_error":
        line += "; " + t("spec.allowed", lang, allowed=p["allowed"])
    return line


# --- errors that name the field and the allowed values ---------------------
def _allowed(model: type[BaseModel], loc: tuple) -> str | None:
    """The Literal choices of the field at ``loc``, if it has any."""
    ann: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        # unwrap Optional[list[X]] (e.g. model.layers) in any nesting order
        while typing.get_origin(ann) in (list, typing.Union, getattr(__import__("types"), "UnionType")):
            ann = next(a for a in get_args(ann) if a is not type(None))
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            field = ann.model_fields.get(part)
            if field is None:
                return ", ".join(ann.model_fields)
            ann = field.annotation
        else:
            return None
    while typing.get_origin(ann) in (list, typing.Union, getattr(__import__("types"), "UnionType")):
        ann = next(a for a in get_args(ann) if a is not type(None))
    if typing.get_origin(ann) is Literal:
        return ", ".join(map(str, get_args(ann)))
    return None


def _problems(err: ValidationError) -> list[dict]:
    out = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        where = "".join(_part(p) for p in loc).lstrip(".") or "spec"
        p = {"where": where, "kind": e["type"], "ctx": e.get("ctx"),
             "msg": e["msg"].removeprefix("Value error, ")}
        if e["type"] == "extra_forbidden":
            p["allowed"] = _allowed(Spec, loc[:-1] + ("__keys__",))
        elif e["type"] in ("model_type", "dict_type"):
            p["allowed"] = _allowed(Spec, loc + ("__keys__",))
        elif e["type"] == "literal_error":
            p["allowed"] = _allowed(Spec, loc) or (e.get("ctx") or {}).get("expected")
        elif "allowed" not in p["msg"]:
            p["allowed"] = _allowed(Spec, loc)
        if e["type"] not in ("missing", "extra_forbidden") and not isinstance(e.get("input"), dict):
            p["got"] = shorten(e.get("input"))
        out.append(p)
    return out


def _depth(v: Any) -> int:
    """How deeply tables and lists nest in ``v`` (iterative: no recursion limit to hit)."""
    deepest, stack = 0, [(v, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((c, depth + 1) for c in node if isinstance(c, (dict, list)))
    return deepest


def _check_depth(d: Any, where: str = "spec") -> None:
    if _depth(d) > MAX_DEPTH:
        raise _too_deep(where)


def _too_deep(where: str) -> SpecError:
    return SpecError.say("spec.too_deep", where=where, most=MAX_DEPTH)


def _part(p: int | str) -> str:
    """One step of a field's path: ``[0]``, ``.lr``, or a quoted odd key (``["a b\\n"]``)."""
    if isinstance(p, int):
        return f"[{p}]"
    return f".{p}" if p.replace("_", "").replace("-", "").isalnum() and p.isascii() \
        else f"[{shorten(p, 40)}]"


def from_dict(d: dict) -> Spec:
    if not isinstance(d, dict):
        raise SpecError(f"a spec must be a table of sections (name, data, model, train); "
                        f"received {shorten(d)}")
    _check_depth(d)
    try:
        return Spec.model_validate(d)
    except ValidationError as e:
        problems = _problems(e)
        raise SpecError(_render(problems, "en"), problems) from None


# --- overrides ---------------------------------------------------------------
def parse_value(text: str) -> Any:
    """A ``--set`` value is TOML (``[8,8]``, ``0.1``, ``true``); bare words are strings."""
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise _too_deep("--set") from None
    _check_depth(value, "--set")
    return value


def set_field(d: dict, key: str, value: Any, where: str) -> None:
    """Set the dotted ``key`` (``train.early_stopping.patience``) of spec dict ``d`` to
    ``value`` in place, making missing sections; errors start with ``where``."""
    parts = [p.strip() for p in key.strip().split(".")]
    if not all(parts):
        raise SpecError(f"{where}: a key is section names and a field joined by "
                        f"single dots (e.g. train.early_stopping.patience=3)")
    node = d
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise SpecError(f"{where}: {p!r} is not a section")
    node[parts[-1]] = value


def apply_overrides(d: dict, overrides: list[str]) -> dict:
    """Apply ``key.path=value`` overrides in order to a spec dict (copied)."""
    d = json.loads(json.dumps(d))
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"--set expects key=value (e.g. train.lr=0.1); received: {item!r}")
        set_field(d, key, parse_value(value.strip()), f"--set {key.strip()}")
    return d


def load(path: str | Path | None = None, overrides: list[str] | None = None) -> Spec:
    """Defaults < TOML file < overrides, validated."""
    d: dict = {}
    if path is not None:
        p = Path(path)
        try:
            if not p.is_file():
                raise SpecError.say("spec.file_missing", path=shorten(str(p)))
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise SpecError.say("spec.not_utf8", path=str(p), byte=e.start, reason=e.reason) from None
        except OSError as e:   # a name too long, no permission
            raise SpecError.say("spec.file_unreadable", path=shorten(str(p)), reason=e.strerror or e) from None
        d = _parse(text, f"{p}: ")
    return from_dict(apply_overrides(d, overrides or []))


def _parse(text: str, where: str = "") -> dict:
    """TOML text -> dict; malformed or absurdly nested TOML is a ``SpecError``."""
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{where}malformed TOML: {e}") from None
    except RecursionError:
        raise _too_deep(where.rstrip(": ") or "spec") from None
    _check_depth(d, where.rstrip(": ") or "spec")
    return d


def loads(text: str) -> Spec:
    return from_dict(_parse(text))
