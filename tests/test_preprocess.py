"""Preparing camera images (mobilecourse.preprocess): each option against a hand-made image."""

import io

import numpy as np
import pytest
from PIL import Image

from mobilecourse import preprocess


def striped(height=4, width=8):
    """A uint8 RGB image: red rises with the column, green with the row, blue constant."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[..., 0] = (np.arange(width) * 30)[np.newaxis, :]
    image[..., 1] = (np.arange(height) * 60)[:, np.newaxis]
    image[..., 2] = 200
    return image


def test_scales_and_channel_order():
    image = striped(4, 4)  # already square and of the target size: only the pixel maths
    unit = preprocess.prepare(image, 4, interpolation="nearest")
    np.testing.assert_allclose(unit * 255, image, atol=1e-4)
    raw = preprocess.prepare(image, 4, scale="raw", interpolation="nearest")
    np.testing.assert_array_equal(raw, image.astype("float32"))
    symmetric = preprocess.prepare(image, 4, scale="symmetric", interpolation="nearest")
    np.testing.assert_allclose(symmetric, image / 127.5 - 1, atol=1e-6)
    assert symmetric.min() >= -1 and symmetric.max() <= 1
    bgr = preprocess.prepare(image, 4, channel_order="BGR", interpolation="nearest")
    np.testing.assert_array_equal(bgr[..., 0], unit[..., 2])
    np.testing.assert_array_equal(bgr[..., 2], unit[..., 0])
    assert unit.dtype == np.float32 and unit.flags["C_CONTIGUOUS"]


def test_centre_crop_keeps_the_middle_and_squash_keeps_everything():
    image = striped(4, 8)  # twice as wide as high
    centre = preprocess.prepare(image, 4, scale="raw", interpolation="nearest")
    # the shorter side is already 4: the crop keeps columns 2 to 5, red 60 to 150
    assert centre.shape == (4, 4, 3)
    np.testing.assert_array_equal(centre[0, :, 0], [60, 90, 120, 150])
    squash = preprocess.prepare(image, 4, scale="raw", crop="squash", interpolation="nearest")
    # every other column of the full width: red from near 0 to near 210
    assert squash[0, 0, 0] <= 30 and squash[0, -1, 0] >= 180
    np.testing.assert_array_equal(squash[:, 0, 1], centre[:, 0, 1])  # rows untouched


def test_interpolation_changes_the_pixels_but_not_the_mean_much():
    photo = preprocess.sample_photo()
    nearest = preprocess.prepare(photo, 64, interpolation="nearest")
    bilinear = preprocess.prepare(photo, 64, interpolation="bilinear")
    box = preprocess.prepare(photo, 64, interpolation="box")
    assert np.abs(nearest - bilinear).max() > 0.1  # aliasing: single pixels differ a lot
    assert abs(nearest.mean() - box.mean()) < 0.02
    assert bilinear.shape == (64, 64, 3)


def test_jpeg_bytes_decode_and_shrink_with_quality():
    photo = preprocess.sample_photo()
    assert photo.shape == (600, 512, 3) and photo.dtype == np.uint8
    sizes = [len(preprocess.jpeg_bytes(photo, quality)) for quality in (50, 75, 90, 95)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1] / 2
    data = preprocess.jpeg_bytes(photo)
    assert data[:2] == b"\xff\xd8"  # JPEG start-of-image marker
    decoded = np.asarray(Image.open(io.BytesIO(data)))
    assert decoded.shape == photo.shape
    assert np.abs(decoded.astype(int) - photo).mean() < 3  # quality 90: close to the original
    assert len(data) < photo.nbytes / 5


def test_bad_arguments():
    image = striped()
    with pytest.raises(TypeError, match="uint8"):
        preprocess.prepare(image.astype("float32"), 4)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        preprocess.prepare(image[..., :2], 4)
    with pytest.raises(ValueError, match="scale must be one of"):
        preprocess.prepare(image, 4, scale="0-1")
    with pytest.raises(ValueError, match="crop must be one of"):
        preprocess.prepare(image, 4, crop="center-ish")
    with pytest.raises(ValueError, match="interpolation must be one of"):
        preprocess.prepare(image, 4, interpolation="lanczos7")
    with pytest.raises(ValueError, match="channel_order must be one of"):
        preprocess.prepare(image, 4, channel_order="GBR")
    with pytest.raises(ValueError, match="size"):
        preprocess.prepare(image, 0)
    with pytest.raises(ValueError, match="quality"):
        preprocess.jpeg_bytes(image, quality=100)


def test_scale_ranges_hold_what_prepare_returns():
    white = np.full((4, 4, 3), 255, dtype=np.uint8)
    black = np.zeros((4, 4, 3), dtype=np.uint8)
    assert set(preprocess.SCALE_RANGES) == set(preprocess.SCALES)
    for scale, (low, high) in preprocess.SCALE_RANGES.items():
        assert preprocess.prepare(black, 2, scale=scale).min() == low
        assert preprocess.prepare(white, 2, scale=scale).max() == high
