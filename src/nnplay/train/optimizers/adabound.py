"""AdaBound optimizer (Luo et al. 2019), as its authors released it."""

from nnplay.train.optimizers.moments import AdamVariant, check


class AdaBound(AdamVariant):
    """Adam whose per-parameter step size is clipped into a band that narrows to SGD's.

    m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2     (v = max(v_max, v) if amsbound)
    alpha_t = lr * sqrt(1-b2^t) / (1-b1^t)          (Adam's bias correction, in the step size)
    eta = clip(alpha_t / (sqrt(v) + eps), lower(t), upper(t))
    lower(t) = final_lr * (1 - 1/(gamma*t + 1));  upper(t) = final_lr * (1 + 1/(gamma*t))
    theta = theta - eta * m
    This is the authors' released rule (package ``adabound`` 0.0.5, which the tests compare
    against): the paper's Algorithm 2 with Adam's bias correction and without the extra
    1/sqrt(t) of the convergence analysis. The clip bounds the whole step size including the
    bias correction, and multiplies the raw m. final_lr is scaled by lr/initial_lr, so an LR
    scheduler moves the bounds too. weight_decay adds an L2 term: g = g + weight_decay*theta.
    m and v are Adam's moments (moments.py).

    Paper: Luo et al. 2019, https://arxiv.org/abs/1902.09843
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), final_lr=0.1, gamma=1e-3,
                 eps=1e-8, weight_decay=0.0, amsbound=False):
        check(betas, lr=lr, final_lr=final_lr, eps=eps, weight_decay=weight_decay)
        if not 0.0 < gamma < 1.0:
            raise ValueError(f"Invalid gamma: received {gamma}, expected in (0, 1)")
        defaults = dict(lr=lr, betas=betas, final_lr=final_lr, gamma=gamma, eps=eps,
                        weight_decay=weight_decay, amsbound=amsbound)
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        group.setdefault("base_lr", group["lr"])  # reference for final_lr scaling

    def update(self, p, grad, group, state) -> None:
        beta1, beta2 = group["betas"]
        lr, gamma, base_lr = group["lr"], group["gamma"], group["base_lr"]
        final_lr = group["final_lr"] * (lr / base_lr if base_lr > 0 else 1.0)
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        t, m, v = self.moments(state, p, grad, group["betas"], group["amsbound"])
        step_size = lr * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t)
        lower = final_lr * (1 - 1 / (gamma * t + 1))
        upper = final_lr * (1 + 1 / (gamma * t))
        eta = (step_size / (v.sqrt() + group["eps"])).clamp_(lower, upper)
        p.sub_(eta * m)
