"""Time series (시계열) as sliding windows: ``data.name = "series"``.

A series v_0..v_{N-1} becomes windows: the model sees ``window`` past steps
v_{t-w}..v_{t-1} and forecasts the next ``horizon`` steps v_t..v_{t+h-1}.
The time axis is cut, never shuffled: train | validation | test periods follow
one another, a window belongs to the period that holds all its targets, and the
scaling (standardization) is fitted on the train period alone. Baselines are
scored on the same test windows, in the data's own units:
- persistence: every future step equals the last one seen (v_{t-1});
- seasonal naive (when the period p is known): the value one season earlier, v_{t+k-p*ceil((k+1)/p)};
- linear autoregression (AR(w)): least squares from each window to its targets on every
  window before the test period (for h = 1, statsmodels' ``AutoReg`` with the same lags).
Sources: "sines" (generated), series shipped inside statsmodels (nothing is
downloaded) and one column of the user's CSV file.
See Hyndman & Athanasopoulos, "Forecasting: Principles and Practice", ch. 5 (simple methods).
"""
from __future__ import annotations

import csv as _csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..spec import DataSpec, SpecError, shorten

# the known season lengths (sunspots: the ~11-year Schwabe cycle)
PERIODS = {"sunspots": 11, "co2": 12, "elnino": 12, "sines": 20}
SINE_PERIODS = (20, 5)   # the generated series' waves; their least common multiple is its period


@dataclass
class Forecasts:
    """What a series run needs beyond the tensors: the series, where each split's windows
    forecast from, the train-period scaling and the baselines' test forecasts."""
    values: np.ndarray             # (N,) the series in its own units
    times: np.ndarray              # (N,) year (decimal for monthly data) or step number
    window: int
    horizon: int
    mean: float                    # model inputs and targets are (v - mean) / std
    std: float
    starts: dict[str, np.ndarray]  # split -> index of each window's first target
    period: int | None
    baselines: dict[str, np.ndarray] = field(default_factory=dict)   # name -> (n_test, h)

    def targets(self, split: str) -> np.ndarray:
        """(n, h) true future values of a split's windows, in data units."""
        s = self.starts[split]
        return self.values[s[:, None] + np.arange(self.horizon)]

    def unscale(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, np.float64) * self.std + self.mean

    def scores(self, pred: np.ndarray, split: str = "test") -> dict[str, float]:
        """MAE and RMSE (data units) of forecasts ``pred`` (n, h) over all steps."""
        err = np.asarray(pred, np.float64).reshape(-1, self.horizon) - self.targets(split)
        return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean()))}


def generate_sines(n: int, noise: float, seed: int) -> np.ndarray:
    """sin(2 pi t / 20) + 0.5 sin(2 pi t / 5) + a trend of 1 over 500 steps + noise * N(0, 1),
    random phases: period 20."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    phase = rng.uniform(0, 2 * np.pi, 2)
    v = np.sin(2 * np.pi * t / SINE_PERIODS[0] + phase[0]) + \
        0.5 * np.sin(2 * np.pi * t / SINE_PERIODS[1] + phase[1]) + t / 500
    return v + noise * rng.standard_normal(n)


def shipped(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, times) of a data set that ships inside statsmodels: "sunspots" (yearly sunspot
    numbers 1700-2008), "co2" (Mauna Loa CO2 in ppm, monthly means 1958-2001), "nile" (yearly
    flow at Aswan 1871-1970), "elnino" (monthly Pacific sea-surface temperature 1950-2010)."""
    from statsmodels import api as sm
    if name == "sunspots":
        d = sm.datasets.sunspots.load_pandas().data
        return d["SUNACTIVITY"].to_numpy(float), d["YEAR"].to_numpy(float)
    if name == "nile":
        d = sm.datasets.nile.load_pandas().data
        return d["volume"].to_numpy(float), d["year"].to_numpy(float)
    if name == "co2":   # weekly with gaps -> monthly means, gaps filled from the month before
        s = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().ffill()
        return s.to_numpy(float), (s.index.year + (s.index.month - 1) / 12).to_numpy(float)
    d = sm.datasets.elnino.load_pandas().data      # one row per year, a column per month
    v = d.drop(columns="YEAR").to_numpy(float).ravel()
    return v, np.repeat(d["YEAR"].to_numpy(float), 12) + np.tile(np.arange(12) / 12, len(d))


def csv_column(path: str, column: str) -> np.ndarray:
    """The numbers of one column of a UTF-8 CSV file, top to bottom (a time order)."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8-sig") as f:
            rows = [(i, r) for i, r in enumerate(_csv.reader(f), start=1) if any(c.strip() for c in r)]
    except (_csv.Error, UnicodeDecodeError) as e:
        raise SpecError.say("series.bad_csv", path=shorten(path), reason=e) from None
    if len(rows) < 2:
        raise SpecError.say("series.csv_empty", path=shorten(path))
    header = [h.strip() for h in rows[0][1]]
    if column not in header:
        raise SpecError.say("series.no_column", column=repr(column), path=shorten(path),
                            allowed=", ".join(header))
    j = header.index(column)
    out = []
    for line, r in rows[1:]:
        cell = r[j].strip() if j < len(r) else ""
        try:
            x = float(cell)
        except ValueError:
            x = math.nan
        if not math.isfinite(x):
            raise SpecError.say("series.not_numeric", column=repr(column), path=shorten(path),
                                line=line, cell=shorten(cell, 40))
        out.append(x)
    return np.asarray(out)


def periods(n: int, spec: DataSpec) -> tuple[int, int]:
    """(first validation step, first test step): the test period is the last
    ``data.test_steps`` steps (else the share 1 - train_ratio), validation the last
    ``val_ratio`` of what comes before it."""
    b_test = n - spec.test_steps if spec.test_steps else math.floor(spec.train_ratio * n)
    b_val = b_test - (math.ceil(spec.val_ratio * b_test) if spec.val_ratio > 0 else 0)
    return b_val, b_test


def windows(v: np.ndarray, starts: np.ndarray, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs (n, w), targets (n, h)) of the windows whose first target is at ``starts``."""
    return v[starts[:, None] - w + np.arange(w)], v[starts[:, None] + np.arange(h)]


def autoregression(v: np.ndarray, fit: np.ndarray, test: np.ndarray, w: int, h: int) -> np.ndarray:
    """AR(w) forecasts for the ``test`` windows: [1, window] @ beta, beta by least squares on
    the ``fit`` windows (one column of beta per horizon step: direct multi-step)."""
    X, Y = windows(v, fit, w, h)
    beta = np.linalg.lstsq(np.c_[np.ones(len(X)), X], Y, rcond=None)[0]   # (1+w, h)
    Xt, _ = windows(v, test, w, h)
    return np.c_[np.ones(len(Xt)), Xt] @ beta


def baselines(v: np.ndarray, fit: np.ndarray, test: np.ndarray, w: int, h: int,
              period: int | None) -> dict[str, np.ndarray]:
    """Each baseline's (n_test, h) forecasts of the test windows (see the module docstring)."""
    k = np.arange(h)
    out = {"persistence": np.repeat(v[test - 1][:, None], h, 1)}
    if period:   # the same step one season back, from what was seen before t
        back = test[:, None] + k - period * ((k + period) // period)
        if back.min() >= 0:
            out["seasonal_naive"] = v[back]
    if len(fit) > w + 1:   # least squares needs more windows than coefficients
        out["ar"] = autoregression(v, fit, test, w, h)
    return out


def load(spec: DataSpec):
    """-> (x, y, Forecasts) for each split: x (n, window, 1) and y (n,) or (n, horizon),
    standardized with the train period's mean and std."""
    times = None
    if spec.series == "sines":
        v = generate_sines(spec.samples, spec.noise, spec.seed)
    elif spec.series == "csv":
        try:
            v = csv_column(spec.path, spec.target)
        except OSError as e:
            raise SpecError.say("data.unreadable", path=shorten(spec.path), reason=e.strerror or e) from None
    else:
        v, times = shipped(spec.series)
    n, w, h = len(v), spec.window, spec.horizon
    times = np.arange(n, dtype=float) if times is None else times
    if w + h > n:
        raise SpecError.say("series.too_long", window=w, horizon=h, n=n, source=spec.series)
    b_val, b_test = periods(n, spec)
    first = np.arange(w, n - h + 1)                     # every window's first target
    last = first + h - 1
    starts = {"train": first[last < b_val], "val": first[(first >= b_val) & (last < b_test)],
              "test": first[first >= b_test]}
    if min(len(starts["train"]), len(starts["test"]), len(starts["val"]) if spec.val_ratio > 0 else 1) < 1 \
            or b_val < 2:
        raise SpecError.say("series.split_small", n=n, window=w, horizon=h, train=len(starts["train"]),
                            val=len(starts["val"]), test=len(starts["test"]))
    mean, std = float(v[:b_val].mean()), float(v[:b_val].std())
    std = std if std > 1e-12 else 1.0
    period = spec.period or PERIODS.get(spec.series)
    info = Forecasts(v, times, w, h, mean, std, starts, period)
    before_test = first[last < b_test]                  # train and validation windows
    info.baselines = baselines(v, before_test, starts["test"], w, h, period)
    z = ((v - mean) / std).astype(np.float32)
    out = {}
    for split, s in starts.items():
        x, y = windows(z, s, w, h)
        out[split] = (x[:, :, None], y[:, 0] if h == 1 else y)
    return out, info
