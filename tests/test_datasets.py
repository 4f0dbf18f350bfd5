"""The generated shapes set: the same bytes everywhere, balanced, shapes of the right size."""

import hashlib
import math

import numpy as np
import pytest

from mobilecourse import datasets
from mobilecourse.datasets import SHAPE_CLASSES, load_shapes_dataset, shapes_images

# SHA-256 of images.tobytes() + labels.tobytes(), computed once from the generator and
# fixed here: any change to the drawing (or a platform that draws differently) fails.
TRAIN_200_SHA256 = "5af87b023e988fbb44bf049317e6b403422bdb25e77cddde227c6910fafb4e8c"
TEST_100_SHA256 = "e2364174bea36278cd9ee735da14788f498bc20f83ff808066afd9c9fda2278a"


def _digest(images, labels):
    return hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()


def _fresh(*args, **kwargs):
    """Draw again, bypassing the in-memory cache."""
    datasets._cached.cache_clear()
    return shapes_images(*args, **kwargs)


def test_the_bytes_are_fixed():
    assert _digest(*_fresh(200)) == TRAIN_200_SHA256
    assert _digest(*_fresh(100, split="test")) == TEST_100_SHA256


def test_drawing_again_gives_the_same_bytes_and_a_prefix_does_not_depend_on_the_count():
    first = _fresh(120, seed=7)
    again = _fresh(120, seed=7)
    np.testing.assert_array_equal(first[0], again[0])
    shorter = _fresh(50, seed=7)
    np.testing.assert_array_equal(shorter[0], first[0][:50])
    np.testing.assert_array_equal(shorter[1], first[1][:50])


def test_seeds_and_splits_are_different_images():
    a, _ = shapes_images(100, seed=0)
    b, _ = shapes_images(100, seed=1)
    c, _ = shapes_images(100, seed=0, split="test")
    for one, other in ((a, b), (a, c)):
        # not one image in common, pixel for pixel
        same = (one[:, None] == other[None, :]).all(axis=(2, 3, 4))
        assert not same.any()


def test_load_gives_float_images_in_0_1_and_balanced_integer_labels():
    (x_train, y_train), (x_test, y_test) = load_shapes_dataset(500, 205)
    assert x_train.shape == (500, 24, 24, 3) and x_test.shape == (205, 24, 24, 3)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert np.bincount(y_train).tolist() == [50] * 10
    assert sorted(np.bincount(y_test).tolist()) == [20] * 5 + [21] * 5
    # the floats are the bytes divided by 255
    images, _ = shapes_images(500)
    np.testing.assert_array_equal(np.round(x_train * 255).astype(np.uint8), images)


def test_the_test_set_does_not_depend_on_the_training_set_size():
    _, (x_a, y_a) = load_shapes_dataset(100, 50)
    _, (x_b, y_b) = load_shapes_dataset(300, 50)
    np.testing.assert_array_equal(x_a, x_b)
    np.testing.assert_array_equal(y_a, y_b)


def test_other_sizes_are_drawn_at_that_size():
    images, labels = shapes_images(20, size=32)
    assert images.shape == (20, 32, 32, 3) and labels.tolist() == list(range(10)) * 2


def test_the_images_are_read_only_because_they_are_cached():
    images, _ = shapes_images(10)
    with pytest.raises(ValueError):
        images[0, 0, 0, 0] = 0


def test_the_mean_colour_gives_little_of_the_class():
    # nearest class mean of each image's mean colour: the shapes' areas differ, so it is
    # above chance (10 %), but far from what a network learns from the shapes themselves
    (x_train, y_train), (x_test, y_test) = load_shapes_dataset(2000, 1000)
    feature_train, feature_test = x_train.mean(axis=(1, 2)), x_test.mean(axis=(1, 2))
    centres = np.stack([feature_train[y_train == c].mean(axis=0) for c in range(10)])
    distance = ((feature_test[:, None, :] - centres[None]) ** 2).sum(axis=2)
    assert np.mean(distance.argmin(axis=1) == y_test) < 0.25


# Areas of the ten shapes in units of r^2 (r = outer radius), derived by hand.
def _lens(d, r1, r2):
    """Area of the intersection of two discs of radii r1, r2 whose centres are d apart."""
    a = r1 * r1 * math.acos((d * d + r1 * r1 - r2 * r2) / (2 * d * r1))
    b = r2 * r2 * math.acos((d * d + r2 * r2 - r1 * r1) / (2 * d * r2))
    c = 0.5 * math.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2))
    return a + b - c


TRIANGLE = 3 * math.sqrt(3) / 4  # equilateral triangle of circumradius 1
AREAS = {
    "disc": math.pi,
    "ring": math.pi * (1 - 0.55**2),
    "square": 1.6**2,
    "triangle": TRIANGLE,
    "plus": 2 * (2 * 0.44) - 0.44**2,  # two bars 2 x 0.44, overlapping in a 0.44 square
    "bar": 2 * 0.44,
    "crescent": math.pi - _lens(0.45, 1.0, 0.8),
    "L": 1.6**2 - 1.1**2,  # the 1.6 square minus the 1.1 square it does not fill
    "star": TRIANGLE * 4 / 3,  # a triangle and three points, each 1/9 of it
    "two dots": 2 * math.pi * 0.42**2,
}


@pytest.mark.parametrize("label", range(10))
@pytest.mark.parametrize("angle", [0, 5, 16, 27])
def test_each_shape_has_its_area_at_any_rotation(label, angle):
    # one pixel per unit, outer radius 300 units: the count matches the area to < 1 %
    r, side = 300, 800
    cos = datasets._cos_table()
    centre = np.array([side // 2], dtype=np.int64)
    lx, ly = datasets._local(centre, centre, cos[[angle]], cos[[(angle - 16) % 64]], side // 8, 8)
    mask = datasets._shape_mask(label, lx, ly, np.array([[[r * datasets._ONE]]]))
    area = mask.sum() / (r / 1.0) ** 2
    assert area == pytest.approx(AREAS[SHAPE_CLASSES[label]], rel=0.01)


def test_the_rotation_table_is_cos_and_sin():
    table = datasets._cos_table()
    for k in range(64):
        assert table[k] == round(4096 * math.cos(2 * math.pi * k / 64))
        assert table[(k - 16) % 64] == round(4096 * math.sin(2 * math.pi * k / 64))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"count": 0}, ValueError, "count must be a positive integer"),
        ({"count": "10"}, TypeError, "count"),
        ({"count": 10, "seed": -1}, ValueError, "seed must be an integer from 0"),
        ({"count": 10, "seed": 1.5}, TypeError, "seed"),
        ({"count": 10, "split": "val"}, ValueError, "split must be one of"),
        ({"count": 10, "size": 8}, ValueError, "size must be an integer from 12 to 128"),
        ({"count": 10, "size": True}, TypeError, "size"),
    ],
)
def test_bad_arguments_name_what_is_allowed(kwargs, error, match):
    with pytest.raises(error, match=match):
        shapes_images(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"train_size": 5}, ValueError, "train_size must be an integer >= 10"),
        ({"test_size": 2.0}, TypeError, "test_size"),
        ({"seed": 2**32}, ValueError, "seed"),
    ],
)
def test_bad_load_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_shapes_dataset(**kwargs)
