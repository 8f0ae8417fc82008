"""AdaBelief optimizer, written from the equations in the paper."""

from nnplay.train.optimizers.moments import AdamVariant, check


class AdaBelief(AdamVariant):
    """Adam that scales steps by the variance of the gradient around its EMA (the "belief").

    m = b1*m + (1-b1)*g
    s = b2*s + (1-b2)*(g - m)^2 + eps                (s = max(s_max, s) if amsgrad)
    m_hat = m / (1-b1^t);  s_hat = s / (1-b2^t)
    theta = theta - lr * m_hat / (sqrt(s_hat) + eps)
    weight_decay: decoupled=True shrinks theta = theta*(1 - lr*weight_decay) before the
    step (AdamW style); decoupled=False adds an L2 term g = g + weight_decay*theta.
    The same as the authors' package ``adabelief-pytorch`` 0.2.1 with rectify=False and
    fixed_decay=False (the tests compare them); its default rectify=True is RAdam's warm-up.
    m and s are Adam's moments (moments.py), s centred on m.

    Paper: Zhuang et al. 2020, https://arxiv.org/abs/2010.07468
    """

    second = "exp_avg_var"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0,
                 decoupled=True, amsgrad=False):
        check(betas, lr=lr, eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled=decoupled, amsgrad=amsgrad)
        super().__init__(params, defaults)

    def update(self, p, grad, group, state) -> None:
        beta1, beta2 = group["betas"]
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        if wd != 0 and group["decoupled"]:
            p.mul_(1 - lr * wd)
        elif wd != 0:
            grad = grad.add(p, alpha=wd)
        t, m, s = self.moments(state, p, grad, group["betas"], group["amsgrad"], centered=True, eps_inside=eps)
        m_hat = m / (1 - beta1 ** t)
        s_hat = s / (1 - beta2 ** t)
        p.sub_(lr * m_hat / (s_hat.sqrt() + eps))
