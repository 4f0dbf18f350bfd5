"""Shared test setup: TensorFlow is quieted before anything imports it."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def teacher_float32():
    """Lesson 08's teacher architecture as a float32 file (untrained: only its speed matters)."""
    import keras

    from mobilecourse import models, tflite
    from mobilecourse.training import BASELINE_RECIPE

    keras.utils.clear_session()
    return tflite.to_tflite(models.digits_cnn(width=BASELINE_RECIPE["width"]))
