"""bench/quality_check.py: it finds the study's latent layer and places the pipeline's
means against the study's seed-to-seed range."""

import importlib.util
import sys

import pytest
from conftest import ROOT

keras = pytest.importorskip("keras")
sys.path.insert(0, str(ROOT / "bench"))
spec = importlib.util.spec_from_file_location("quality_check", ROOT / "bench" / "quality_check.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)
from train_speed import study_conv, study_dense  # noqa: E402


def test_the_study_latent_is_its_narrowest_dense_layer():
    dense = check.study_latent_model(keras, study_dense(keras, 784))
    assert dense.output.shape[1:] == (100,)
    conv = check.study_latent_model(keras, study_conv(keras, 28))
    assert conv.output.shape[1:] == (196,)


def test_means_are_placed_against_the_study_range():
    study = [0.50, 0.52, 0.51]
    assert check.placement(0.505, study) == "within"
    assert check.placement(0.50, study) == "within"
    assert check.placement(0.53, study) == "ABOVE"
    assert check.placement(0.49, study) == "BELOW"
