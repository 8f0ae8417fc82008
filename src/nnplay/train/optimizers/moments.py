"""What Adam's variants here share (AdaBound, AdaBelief): the checks of their settings, the loop
over parameters, and Adam's running moments of each parameter's gradient.

    m = b1*m + (1-b1)*g                     (the first moment: an EMA of the gradient)
    s = b2*s + (1-b2)*d^2 + eps_inside      (d = g for Adam's second moment, g - m for AdaBelief's)
    s = max(s_max, s)                        (AMSGrad, Reddi et al. 2018, when asked)

Paper: Kingma & Ba 2015 (Adam), https://arxiv.org/abs/1412.6980
"""

import torch
from torch.optim import Optimizer


def check(betas, **at_least_zero) -> None:
    """Settings that must be >= 0, and betas in [0, 1); a ValueError names the one that is not."""
    for name, value in at_least_zero.items():
        if not value >= 0.0:
            raise ValueError(f"Invalid {name}: received {value}, expected >= 0")
    for name, value in (("beta1", betas[0]), ("beta2", betas[1])):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"Invalid {name}: received {value}, expected in [0, 1)")


class AdamVariant(Optimizer):
    """Adam's loop over parameters; a variant's ``update(p, grad, group, state)`` moves one
    parameter, reading its moments from ``moments``. ``second``: the state's name for the
    second moment (kept as the authors' packages name it, so saved runs resume)."""

    second = "exp_avg_sq"

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                self.update(p, p.grad, group, self.state[p])
        return loss

    def update(self, p, grad, group, state) -> None:   # pragma: no cover - each variant has its own
        raise NotImplementedError

    def moments(self, state, p, grad, betas, amsgrad: bool, centered: bool = False,
                eps_inside: float = 0.0) -> tuple[int, torch.Tensor, torch.Tensor]:
        """Step t, m and s after this gradient (the equations above), in ``state``."""
        key = self.second
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state[key] = torch.zeros_like(p)
            if amsgrad:
                state["max_" + key] = torch.zeros_like(p)
        state["step"] += 1
        beta1, beta2 = betas
        m, s = state["exp_avg"], state[key]
        m.mul_(beta1).add_(grad, alpha=1 - beta1)
        d = grad - m if centered else grad
        s.mul_(beta2).addcmul_(d, d, value=1 - beta2)
        if eps_inside:
            s.add_(eps_inside)
        if amsgrad:
            s = torch.maximum(state["max_" + key], s, out=state["max_" + key])
        return state["step"], m, s
