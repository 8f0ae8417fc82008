"""Points the learner draws for a generative model: one label is enough (labels are not
learned), while a classifier still needs two classes."""
import pytest

from nnplay import spec as specmod
from nnplay.data import load_data
from nnplay.spec import SpecError
from nnplay.train import Trainer

ROWS = [[i / 10, (i % 7) / 7, 0] for i in range(30)]


def test_one_class_of_points_is_refused_for_a_classifier_and_kept_for_a_gan():
    d = specmod.from_dict({"data": {"name": "points", "points": ROWS}}).data
    with pytest.raises(SpecError, match="data.points"):
        load_data(d)
    bundle = load_data(d, unlabelled=True)
    assert len(bundle.points["train"]) + len(bundle.points["val"]) + len(bundle.points["test"]) == len(ROWS)
    with pytest.raises(SpecError):
        Trainer(specmod.from_dict({"data": {"name": "points", "points": ROWS}}))
    tr = Trainer(specmod.from_dict({"data": {"name": "points", "points": ROWS},
                                    "model": {"kind": "gan", "hidden": [8]}, "train": {"batch_size": 8}}))
    rec = tr.train_epoch()
    assert rec["epoch"] == 1 and tr.sample(5).shape == (5, 2)
