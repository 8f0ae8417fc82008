"""Can we believe a deep network? (DNN을 믿을 수 있을까?)

Tools that question a trained classifier, any ``torch.nn.Module`` with its data:
``attacks`` (적대적 공격: FGSM, PGD, patch, robustness curve, adversarial training),
``uncertainty`` (불확실성: MC dropout, deep ensembles, calibration, OOD detection) and
``explain`` (해석 가능성: saliency, integrated gradients, occlusion, Grad-CAM, LIME).
"""
from __future__ import annotations

from .base import Classifier, TrustError, as_classifier

__all__ = ["Classifier", "TrustError", "as_classifier"]
