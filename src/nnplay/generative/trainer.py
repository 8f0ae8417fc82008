"""Training autoencoders, VAEs and GANs with the same run store, reports and CLI.

``GenerativeTrainer`` is the ``Trainer`` of a spec whose ``model.kind`` is not "classifier"
(``Trainer(spec)`` returns one): ``train_epoch``/``fit``/``state`` work as for a classifier,
so runs, resume and reports need no second path.

- autoencoder: loss = MSE(x', x) (``model.denoise`` > 0: the input gets Gaussian noise of that
  std, the target stays clean: a denoising autoencoder, Vincent et al. 2008).
- vae: loss = -ELBO = reconstruction + beta * KL(q(z|x) || N(0, I)) per sample; images in
  [0, 1]: Bernoulli reconstruction (BCE summed over pixels), else Gaussian (squared error).
- gan: rounds of ``train.gan.d_steps`` D-steps, then ``g_steps`` G-steps. In G's step D is
  frozen: no gradient reaches its weights, its optimizer does not step and it runs in eval
  mode (batch-norm statistics, spectral norm's power iteration stay put) -- what Keras's
  ``discriminator.trainable = False`` before compiling the combined model does. With
  ``train.gan.freeze_d = false`` D's optimizer also steps on G's loss ("fakes are real"), the
  mistake that note warns of: D learns to call everything real.
"""
from __future__ import annotations

import math
import time
from contextlib import nullcontext

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..data import DataBundle, load_data
from ..data import toy2d
from ..model import CHUNK, eval_mode
from ..spec import SpecError
from ..train.compiled import eager
from ..train.loop import DivergenceError, Trainer, _check_batch_norm
from ..train.placement import resolve_device
from ..train.optimizers import make_optimizer
from ..train.schedules import make_schedule
from . import metrics
from .models import GAN, Decoder, build_generative

SAMPLES = 2500       # samples behind each epoch's GAN metrics (PacGAN's count)


class GenerativeTrainer(Trainer):
    """Owns a generative model, its optimizer(s) and data; see the module docstring.
    ``Trainer.__init__`` builds it, with this class's ``_build``, ``_place_data`` and
    ``_build_optimizer``; no adversarial training, no mixed precision."""
    mixed_precision = False

    def _build(self, data: DataBundle | None, device: str | None) -> None:
        spec = self.spec
        for field, used in (("data.augment", spec.data.augment), ("train.tta", spec.train.tta),
                            ("model.freeze", spec.model.freeze), ("model.embedding", spec.model.embedding),
                            ("train.metric_loss", spec.train.metric_loss != "none")):
            if used:   # classifier features: refused rather than silently ignored
                raise SpecError.say("gen.classifier_only", field=field, kind=spec.model.kind)
        self.data = data if data is not None else load_data(spec.data, unlabelled=True)
        self.device = resolve_device(device or spec.train.device)
        s_init, s_order, s_drop, s_noise = np.random.SeedSequence(spec.train.seed % 2**64).generate_state(4, np.uint64)
        self.generator = torch.Generator().manual_seed(int(s_order))        # data order
        self.dropout_generator = torch.Generator(self.device).manual_seed(int(s_drop))
        self.noise_generator = torch.Generator(self.device).manual_seed(int(s_noise))   # z, eps, denoise
        d = self.data
        self.squash = d.is_image and d.bounds == (0.0, 1.0)   # pixels in [0, 1]: sigmoid outputs
        self.model = build_generative(spec.model, self.shape, self.squash,
                                      torch.Generator().manual_seed(int(s_init)),
                                      self.dropout_generator).to(self.device)
        self.loss_fn = None

    # --- set-up -----------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.spec.model.kind

    @property
    def shape(self) -> tuple[int, ...]:
        """One sample's shape: (2,) for 2-D sets (the raw points; data.features unused)."""
        return (2,) if self.data.is_2d else self.data.input_shape

    @property
    def modes(self) -> tuple[np.ndarray, float] | None:
        """(centres, std) of the data's Gaussian modes (ring, grid), else None."""
        return toy2d.MODES.get(self.spec.data.name)

    def _place_data(self) -> None:
        """The splits on the device. 2-D points are standardized with one scale for both axes
        (the grid's +-4 and the ring's unit circle both become ~unit spread; shapes keep their
        geometry): ``unit`` = (mean, scale); samples, metrics and plots are in the data's units."""
        d = self.data
        self.unit = None
        if d.is_2d:
            train = d.points["train"].astype(np.float64)
            self.unit = (train.mean(0), float(train.std()) or 1.0)
            raw = {s: torch.from_numpy(((d.points[s] - self.unit[0]) / self.unit[1]).astype(np.float32))
                   for s in ("train", "val", "test")}
        else:
            raw = {s: getattr(d, f"x_{s}") for s in ("train", "val", "test")}
        self.x = {s: a.float().to(self.device) for s, a in raw.items()}
        self.y = {s: getattr(d, f"y_{s}").to(self.device) for s in ("train", "val", "test")}
        t = self.spec.train
        if self.kind == "gan" and t.batch_size < self.spec.model.pack:
            raise SpecError.say("gen.pack_batch", pack=self.spec.model.pack, batch_size=t.batch_size)
        _check_batch_norm(self.model, len(self.x["train"]), t.batch_size)

    def accepts(self, data: DataBundle) -> bool:
        return data.is_2d == self.data.is_2d and (data.is_2d or data.input_shape == self.data.input_shape)

    def _build_optimizer(self) -> None:
        t = self.spec.train
        if self.kind != "gan":
            self.optimizer = make_optimizer(t, self.model.parameters())
            self._build_schedule()
            return
        g = t.gan
        self.optimizer = self._adam(t.model_copy(update={"optimizer": g.d_optimizer, "lr": g.d_lr}),
                                    self.model.discriminator)
        self.g_optimizer = self._adam(t.model_copy(update={"optimizer": g.g_optimizer, "lr": g.g_lr}),
                                      self.model.generator)
        if t.schedule == "onecycle":
            raise SpecError.say("gen.gan_schedule", allowed="none, step, cosine")
        # step decay or cosine: both players' learning rates follow it, epoch by epoch
        self.scheduler, self.per_batch = make_schedule(t, self.optimizer, 1)
        self.g_scheduler, _ = make_schedule(t, self.g_optimizer, 1)

    def _adam(self, t, net: nn.Module) -> torch.optim.Optimizer:
        opt = make_optimizer(t, net.parameters())
        for group in opt.param_groups:   # Adam family: beta1 from train.gan (DCGAN's 0.5)
            if "betas" in group:
                group["betas"] = (self.spec.train.gan.beta1, group["betas"][1])
        return opt

    def _apply(self, u) -> None:
        """A live change (Trainer.update); a GAN's optimizers are rebuilt."""
        if self.kind != "gan":
            return super()._apply(u)
        old, self.spec = self.spec.train, u.spec
        new = self.spec.train
        # D-/G-steps per round and the epoch count leave the optimizers and their state alone
        keep = {**dict.fromkeys(("epochs", "probe_every", "checkpoint_every", "early_stopping"), True),
                "gan": {"d_steps": True, "g_steps": True}}
        if new.model_dump(exclude=keep) != old.model_dump(exclude=keep):
            self._build_optimizer()

    # --- autoencoder and VAE --------------------------------------------------------------
    def _terms(self, x: torch.Tensor, noise: torch.Generator, train: bool) -> dict[str, torch.Tensor]:
        """The loss and its parts for a batch, each a mean over its samples."""
        m, spec = self.model, self.spec.model
        inp = x
        if train and spec.denoise > 0:
            inp = x + spec.denoise * torch.randn(x.shape, generator=noise, device=x.device)
        if not m.variational:
            out = m.decode(m.encoder(inp))
            mse = F.mse_loss(out, x)
            return {"loss": mse, "mse": mse}
        mu, logvar = m.moments(inp)                                    # (B, latent) each
        eps = torch.randn(mu.shape, generator=noise, device=mu.device)
        logits = m.decoder(mu + torch.exp(0.5 * logvar) * eps)         # reparameterisation
        if m.squash:   # Bernoulli pixels: -log p(x|z) = BCE summed over the pixels
            recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        else:          # Gaussian with variance 1/2: squared error summed over the features
            recon = F.mse_loss(logits, x, reduction="sum") / len(x)
        kl = -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp()) / len(x)
        return {"loss": recon + spec.beta * kl, "recon": recon, "kl": kl}

    def _ae_epoch(self) -> dict:
        t = self.spec.train
        x, n, opt = self.x["train"], len(self.x["train"]), self.optimizer
        order = torch.randperm(n, generator=self.generator).to(self.device)
        sums: dict[str, float] = {}
        for i in range(self.steps_per_epoch):
            xb = x[order[i * t.batch_size:(i + 1) * t.batch_size]]
            terms = self._terms(xb, self.noise_generator, train=True)
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
            opt.step()
            if self.per_batch and self.scheduler.last_epoch < self.scheduler.total_steps - 1:
                self.scheduler.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(xb)
        if self.scheduler is not None and not self.per_batch:
            self.scheduler.step()
        rec = {f"train_{k}": v / n for k, v in sums.items()}
        rec.update({f"val_{k}": v for k, v in self.evaluate("val").items()})
        return rec

    @eager
    @torch.no_grad()
    def evaluate(self, split: str = "test") -> dict:
        """Autoencoder {"loss", "mse"}, VAE {"loss", "recon", "kl"} on a split (eval mode, the
        VAE's eps drawn from a fixed seed: the same figures every call); GAN: {}."""
        x = self.x[split]
        if self.kind == "gan" or len(x) == 0:
            return {}
        noise = torch.Generator(self.device).manual_seed(0)
        sums: dict[str, float] = {}
        with eval_mode(self.model):
            for i in range(0, len(x), CHUNK):
                for k, v in self._terms(x[i:i + CHUNK], noise, train=False).items():
                    sums[k] = sums.get(k, 0.0) + float(v) * len(x[i:i + CHUNK])
        return {k: v / len(x) for k, v in sums.items()}

    # --- GAN: one D-step, one G-step -----------------------------------------------------------
    def _gan_loss(self, out: torch.Tensor, real: bool) -> torch.Tensor:
        """Log loss (G's non-saturating form: log D(G(z)) up) or least squares (LSGAN,
        Mao et al. 2017, https://arxiv.org/abs/1611.04076: targets 1 real, 0 fake)."""
        target = torch.full_like(out, float(real))
        if self.spec.train.gan.loss == "log":
            return F.binary_cross_entropy_with_logits(out, target)
        return F.mse_loss(out, target)

    def _says_real(self, out: torch.Tensor) -> torch.Tensor:
        return out > (0.0 if self.spec.train.gan.loss == "log" else 0.5)

    def fakes(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """G(z) for n noise draws (model units; with gradients)."""
        return self.model.decode(self.model.draw(n, generator or self.noise_generator, self.device))

    def d_step(self, real: torch.Tensor | None = None) -> dict:
        """One discriminator update on a real batch (default: the next training batch) and as
        many fakes: -> {"d_loss", "d_accuracy"}."""
        real = self._next_batch() if real is None else real.to(self.device)
        D = self.model.discriminator
        fake = self.fakes(len(real)).detach()
        out_r, out_f = D(real), D(fake)
        loss = self._gan_loss(out_r, True) + self._gan_loss(out_f, False)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        right = self._says_real(out_r).sum() + (~self._says_real(out_f)).sum()
        return {"d_loss": loss.detach(), "d_accuracy": right / (len(out_r) + len(out_f))}

    def g_step(self, n: int | None = None) -> dict:
        """One generator update through D (frozen unless train.gan.freeze_d is off):
        -> {"g_loss"}."""
        D, freeze = self.model.discriminator, self.spec.train.gan.freeze_d
        n = n or self.spec.train.batch_size
        if freeze:                      # Keras: discriminator.trainable = False
            D.requires_grad_(False)
        try:
            with eval_mode(D) if freeze else nullcontext():
                loss = self._gan_loss(D(self.fakes(n)), True)   # G wants its fakes called real
                self.g_optimizer.zero_grad(set_to_none=True)
                if not freeze:
                    self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.g_optimizer.step()
                if not freeze:              # the mistake: D is taught that fakes are real
                    self.optimizer.step()
        finally:
            if freeze:
                D.requires_grad_(True)
        return {"g_loss": loss.detach()}

    def _next_batch(self) -> torch.Tensor:
        """The next ``batch_size`` training samples of a reshuffled pass."""
        bs, n = self.spec.train.batch_size, len(self.x["train"])
        if getattr(self, "_order", None) is None or self._pos + bs > len(self._order):
            self._order, self._pos = torch.randperm(n, generator=self.generator).to(self.device), 0
            if bs > n:
                self._order = self._order.repeat(math.ceil(bs / n))
        idx = self._order[self._pos:self._pos + bs]
        self._pos += bs
        return self.x["train"][idx]

    def _gan_epoch(self) -> dict:
        g = self.spec.train.gan
        self._order = None            # each epoch: one reshuffled pass for D's real batches
        d_out, g_out = [], []
        rounds = max(1, math.ceil(len(self.x["train"]) / (self.spec.train.batch_size * g.d_steps)))
        for _ in range(rounds):
            d_out += [self.d_step() for _ in range(g.d_steps)]
            g_out += [self.g_step() for _ in range(g.g_steps)]
        for sched in (self.scheduler, self.g_scheduler):
            if sched is not None:
                sched.step()
        rec = {"d_loss": float(torch.stack([o["d_loss"] for o in d_out]).mean()),
               "g_loss": float(torch.stack([o["g_loss"] for o in g_out]).mean()),
               "d_train_accuracy": float(torch.stack([o["d_accuracy"] for o in d_out]).mean())}
        rec.update(self.gan_metrics())
        return rec

    @eager
    @torch.no_grad()
    def gan_metrics(self) -> dict:
        """D's accuracy on real training samples and fresh fakes (eval mode), and on data with
        known modes PacGAN's ``modes_covered`` and ``high_quality`` over SAMPLES samples (noise
        from a fixed seed: epochs are comparable)."""
        with eval_mode(self.model):
            fake = self.fakes(SAMPLES, torch.Generator(self.device).manual_seed(self.spec.train.seed))
            real = self.x["train"][:SAMPLES]
            D = self.model.discriminator
            right = self._says_real(D(real)).float().mean() + (~self._says_real(D(fake[:len(real)]))).float().mean()
            out = {"d_accuracy": float(right) / 2}
            if self.modes is not None:
                covered, hq = metrics.mode_coverage(self._units(fake), *self.modes)
                out.update(modes_covered=covered, modes=len(self.modes[0]), high_quality=hq)
            return out

    # --- one epoch, many epochs ---------------------------------------------------------------
    @eager
    def train_epoch(self, probe: bool | None = None) -> dict:
        """One pass over the training set (GAN: rounds of D- and G-steps covering it)."""
        start = time.perf_counter()
        self.model.train()
        self.epoch += 1
        rec = {"epoch": self.epoch, **(self._gan_epoch() if self.kind == "gan" else self._ae_epoch())}
        bad = [k for k, v in rec.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            raise DivergenceError(f"training diverged at epoch {self.epoch}: {bad[0]} became "
                                  f"{rec[bad[0]]}. Lower the learning rate(s) or use another optimizer.")
        rec["lr"] = self.optimizer.param_groups[0]["lr"]
        self.history.append(rec)
        self.seconds += time.perf_counter() - start
        return rec

    def summary(self, seconds: float) -> dict:
        s = {"epochs": self.epoch, "seconds": round(seconds, 4), "device": str(self.device),
             "task": self.data.task, "kind": self.kind, "best_epoch": self.best["epoch"]}
        if self.kind == "gan":
            last = self.history[-1] if self.history else {}
            s.update({k: last[k] for k in ("d_loss", "g_loss", "d_accuracy") if k in last})
            s.update(self.gan_metrics())
            s["mode_collapse"] = self.collapse()
            return s
        train, test = self.evaluate("train"), self.evaluate("test")
        s.update({f"train_{k}": v for k, v in train.items()})
        s.update({f"test_{k}": v for k, v in test.items()})
        last = self.history[-1] if self.history else {}
        s.update({k: v for k, v in last.items() if k.startswith("val_")})
        if self.kind == "autoencoder" and len(self.x["test"]):
            s["baselines"] = {"pca": {"test_mse": metrics.pca_mse(
                self.x["train"].cpu().numpy(), self.x["test"].cpu().numpy(), self.spec.model.latent)}}
        return s

    def collapse(self) -> dict:
        """The mode-collapse check of the summary: {"warning": bool, ...the figures behind it}.
        Known modes: any mode without a high-quality sample. Otherwise: the samples spread
        less than half as far as the data (``metrics.spread``)."""
        if self.modes is not None:
            m = self.gan_metrics()
            return {"warning": m["modes_covered"] < m["modes"], "modes_covered": m["modes_covered"],
                    "modes": m["modes"]}
        with torch.no_grad():
            fake = self.sample(SAMPLES, seed=self.spec.train.seed).reshape(SAMPLES, -1)
        ratio = metrics.spread(fake, self._units(self.x["train"]).reshape(len(self.x["train"]), -1))
        return {"warning": ratio < metrics.COLLAPSE_SPREAD, "spread": ratio}

    # --- what a learner looks at ---------------------------------------------------------------
    def _units(self, out: torch.Tensor) -> np.ndarray:
        """Model outputs -> the data's own units: points as they are, images in [0, 1]
        (standardized images un-standardized, then clipped)."""
        a = out.detach().float().cpu().numpy()
        if self.unit is not None:
            a = a * self.unit[1] + self.unit[0]
        if self.data.is_image and not self.squash:
            mu, sd = self.data.scale if self.data.scale is not None else (0.0, 1.0)
            a = np.clip(a * sd + mu, 0.0, 1.0)
        return a.astype(np.float32)

    @eager
    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n new samples in the data's units and shape: (n, 2) points, (n, C, H, W) images.
        GAN: G(z); VAE: the decoder on z ~ N(0, I). An autoencoder has no prior to draw from."""
        if self.kind == "autoencoder":
            raise SpecError.say("gen.sample_ae")
        g = torch.Generator(self.device).manual_seed(seed)
        if isinstance(self.model, GAN):
            z = self.model.draw(n, g, self.device)
        else:
            z = torch.randn(n, self.spec.model.latent, generator=g, device=self.device)
        with eval_mode(self.model):
            return self._units(self.model.decode(z))

    @eager
    @torch.no_grad()
    def encode(self, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """(codes (N, latent), labels (N,)) of a split: the latent map (VAE: the means)."""
        self._needs_encoder()
        with eval_mode(self.model):
            return self.model.encode(self.x[split]).cpu().numpy(), self.y[split].cpu().numpy()

    @eager
    @torch.no_grad()
    def interpolate(self, i: int, j: int, steps: int = 8, split: str = "test") -> np.ndarray:
        """Decode the straight line between the codes of samples i and j of a split (the
        notes' morphing): (steps, *shape) in the data's units, first = i's, last = j's."""
        self._needs_encoder()
        n = len(self.x[split])
        for name, v in (("I", i), ("J", j)):
            if not 0 <= v < n:
                raise SpecError.say("gen.bad_index", name=name, most=n - 1, got=v)
        if steps < 2:
            raise SpecError.say("gen.bad_steps", got=steps)
        t = torch.linspace(0, 1, steps, device=self.device)[:, None]
        with eval_mode(self.model):
            z = self.model.encode(self.x[split][[i, j]])                   # (2, latent)
            return self._units(self.model.decode((1 - t) * z[0] + t * z[1]))

    @eager
    @torch.no_grad()
    def reconstruct(self, index: np.ndarray | list[int], split: str = "test") -> np.ndarray:
        """Decode the codes of samples ``index`` of a split (VAE: the means), in the data's
        units: what the bottleneck keeps of each input."""
        self._needs_encoder()
        with eval_mode(self.model):
            return self._units(self.model.decode(self.model.encode(self.x[split][list(index)])))

    def _needs_encoder(self) -> None:
        if self.kind == "gan":
            raise SpecError.say("gen.no_encoder")

    @eager
    @torch.no_grad()
    def decision_grid(self, resolution: int = 64, extent: float | None = None) -> np.ndarray:
        """GAN on 2-D data: D's probability of "real" on a resolution^2 grid over
        [-extent, extent]^2 (top row: x2 = +extent), as GAN Lab's heat map. With packing
        each grid point is judged as ``pack`` copies of itself."""
        e = extent or self.extent
        xs = torch.linspace(-e, e, resolution)
        g = torch.stack(torch.meshgrid(xs, xs.flip(0), indexing="xy"), -1).reshape(-1, 2)
        out = self._judge(self._inward(g))
        return (torch.sigmoid(out) if self.spec.train.gan.loss == "log" else out.clamp(0, 1)) \
            .reshape(resolution, resolution).cpu().numpy()

    def _inward(self, points: torch.Tensor) -> torch.Tensor:
        """Points in the data's units -> the model's (standardized) units."""
        mean, scale = self.unit
        return (points.to(self.device) - torch.as_tensor(mean, dtype=torch.float32, device=self.device)) / scale

    def _judge(self, points: torch.Tensor) -> torch.Tensor:
        """D's logit for each of the points (each packed with copies of itself)."""
        with eval_mode(self.model.discriminator) as D:
            return D(points.repeat_interleave(self.spec.model.pack, 0)).squeeze(1)

    def gradient_arrows(self, points: np.ndarray | torch.Tensor) -> np.ndarray:
        """For generated 2-D points: -d(G's loss)/d(point), the way G's step pushes each fake
        (GAN Lab's arrows), (N, 2)."""
        x = torch.as_tensor(np.asarray(points, np.float32), device=self.device).requires_grad_(True)
        loss = self._gan_loss(self._judge(self._inward(x))[:, None], True) * len(x)
        (grad,) = torch.autograd.grad(loss, x)
        return (-grad).cpu().numpy()

    @eager
    @torch.no_grad()
    def manifold(self, resolution: int = 16) -> np.ndarray:
        """G over a grid of noise (the first two noise dimensions; the others 0): how G bends
        the noise plane, (resolution, resolution, *shape) in the data's units."""
        lim = 1.0 if self.spec.model.noise == "uniform" else 2.0
        s = torch.linspace(-lim, lim, resolution)
        z = torch.zeros(resolution * resolution, self.spec.model.latent)
        a, b = torch.meshgrid(s, s, indexing="ij")
        z[:, 0] = a.reshape(-1)
        if z.shape[1] > 1:
            z[:, 1] = b.reshape(-1)
        with eval_mode(self.model):
            out = self._units(self.model.decode(z.to(self.device)))
        return out.reshape(resolution, resolution, *out.shape[1:])

    @property
    def extent(self) -> float:
        """Half-width of a square holding the 2-D training data with a margin."""
        return float(np.abs(self._units(self.x["train"])).max()) * 1.25 if len(self.x["train"]) else toy2d.R

    def decoder(self) -> nn.Module:
        """The network from a code or noise to a sample, in the data's units (for export)."""
        return Decoder(self.model)

    # --- resumable state ---------------------------------------------------------------------
    def state(self) -> dict:
        st = super().state()
        st["noise_generator"] = self.noise_generator.get_state()
        if self.kind == "gan":
            st["g_optimizer"] = self.g_optimizer.state_dict()
            st["g_scheduler"] = self.g_scheduler.state_dict() if self.g_scheduler else None
        return st

    def load_state(self, st: dict, history: list[dict]) -> None:
        super().load_state(st, history)
        self.noise_generator.set_state(st["noise_generator"])
        if self.kind == "gan":
            self.g_optimizer.load_state_dict(st["g_optimizer"])
            if self.g_scheduler is not None and st.get("g_scheduler"):
                self.g_scheduler.load_state_dict(st["g_scheduler"])
