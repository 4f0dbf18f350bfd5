"""The course's own colour images: ten classes of shapes drawn by integer maths, offline.

The digits of :func:`mobilecourse.data.load_digits_dataset` are too easy to tell two
architectures apart: every small network scores 95 % or more. :func:`load_shapes_dataset`
draws a harder set in the package itself, with no download and no file: ten shape
classes (:data:`SHAPE_CLASSES`), each image one shape in a random light colour, size,
position and rotation over a darker colour gradient, with clutter (thin lines and small
dots in any colour) and pixel noise.

Every image is a function of ``(seed, split, index, size)`` alone: random numbers come
from a counter-based hash (SplitMix64 on unsigned 64-bit integers), geometry uses integer
coordinates and a rotation table of integers, and anti-aliasing counts covered sub-pixels
(4 x 4 per pixel for the shape, 2 x 2 for the clutter). There is no floating-point maths
before the final division by 255, so the bytes are the same on every CPU, operating
system and NumPy version; ``tests/test_datasets.py`` checks a SHA-256 of them. Image
``i`` does not depend on how many images are asked for, and the test split is drawn from
its own stream, so growing the training set never changes the test set.

The images are the course's generated data, under the repository's MIT licence.
"""

from __future__ import annotations

import functools

from mobilecourse._validate import choice, integer

__all__ = [
    "SHAPE_CLASSES",
    "SPLITS",
    "load_shapes_dataset",
    "shapes_images",
]

#: The ten classes, in label order.
SHAPE_CLASSES = (
    "disc",
    "ring",
    "square",
    "triangle",
    "plus",
    "bar",
    "crescent",
    "L",
    "star",
    "two dots",
)

#: The independent streams of images.
SPLITS = ("train", "test")

#: Largest seed (32 bits, like ``setup_notebook``'s).
_MAX_SEED = 2**32 - 1
#: Image sides allowed: big enough to draw a shape, small enough to stay cheap.
_MIN_SIZE, _MAX_SIZE = 12, 128
#: Sub-pixels per pixel side for the shape (coverage 0-16) and for the clutter (0-4).
_SHAPE_AA, _CLUTTER_AA = 4, 2
#: Coordinates are in units of 1/8 pixel: sub-pixel centres of a 4 x 4 grid fall on
#: odd units (1, 3, 5, 7), those of a 2 x 2 grid on 2 and 6.
_UNITS = 8
#: Fixed-point scale of the rotation table.
_ONE = 4096
#: round(4096 * cos(2 pi k / 64)) for k = 0..16 (a quarter turn), typed in so that no
#: libm is ever called: the table is the same everywhere.
_COS_QUARTER = (
    4096, 4076, 4017, 3920, 3784, 3612, 3406, 3166, 2896,
    2598, 2276, 1931, 1567, 1189, 799, 401, 0,
)  # fmt: skip
_ANGLES = 64
#: How hard the images are: the shape's outer radius (percent of the side), the clutter
#: behind it (dots, lines), the largest and smallest noise amplitude (levels of 255).
_STYLE = {
    "radius_percent": (30, 46),
    "dots": 3,
    "lines": 2,
    "noise": (2, 16),
}


def _cos_table():
    import numpy as np

    q = _COS_QUARTER
    full = [q[k] if k <= 16 else -q[32 - k] if k <= 32 else -q[k - 32] if k <= 48 else q[64 - k]
            for k in range(_ANGLES)]  # fmt: skip
    return np.array(full, dtype=np.int64)


# ---------------------------------------------------------------- random numbers

_GOLDEN = 0x9E3779B97F4A7C15
_SPLIT_SALT = {"train": 0x5EED_0001, "test": 0x5EED_0002}


def _mix(z):
    """SplitMix64's finaliser on a uint64 array (wrapping arithmetic, exact everywhere)."""
    import numpy as np

    z = z + np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class _Draws:
    """Independent random integers per image, from the image's key and a field number."""

    def __init__(self, keys):
        self.keys = keys
        self.field = 0

    def bits(self):
        import numpy as np

        self.field += 1
        return _mix(self.keys ^ _mix(np.full_like(self.keys, self.field)))

    def below(self, n):
        """Integers in [0, n) (n >= 1, an int or an int64 array), one per image."""
        import numpy as np

        high = (self.bits() >> np.uint64(32)).astype(np.int64)  # 32 random bits
        return (high * np.asarray(n, dtype=np.int64)) >> 32

    def between(self, low, high):
        """Integers in [low, high], inclusive."""
        return low + self.below(high - low + 1)


def _image_keys(seed: int, split: str, indices):
    import numpy as np

    base = _mix(np.array([seed ^ (_SPLIT_SALT[split] << 32)], dtype=np.uint64))
    return _mix(base ^ _mix(indices.astype(np.uint64)))


# ---------------------------------------------------------------- geometry


def _grid(size: int, aa: int):
    """Sub-pixel centres along one side, in units of 1/8 pixel."""
    import numpy as np

    step = _UNITS // aa
    return np.arange(size * aa, dtype=np.int64) * step + step // 2


def _coverage(mask, size: int, aa: int):
    """Covered sub-pixels per pixel: ``(n, size*aa, size*aa)`` bools -> ``(n, size, size)``.

    The ``aa`` bools of a pixel's row are one ``aa``-byte integer; multiplying it by
    0x0101... sums its bytes into the top byte (each sum <= aa fits), then the pixel's
    ``aa`` rows are added.
    """
    import numpy as np

    n = mask.shape[0]
    kind, ones = {2: (np.uint16, 0x0101), 4: (np.uint32, 0x01010101)}[aa]
    words = np.ascontiguousarray(mask).view(np.uint8).view(kind)  # (n, size*aa, size)
    rows = (words * kind(ones)) >> kind(8 * (aa - 1))
    rows = rows.astype(np.int32).reshape(n, size, aa, size)
    total = rows[:, :, 0]
    for k in range(1, aa):
        total = total + rows[:, :, k]
    return total


def _local(cx, cy, cos, sin, size: int, aa: int):
    """Rotated coordinates ``(lx, ly)`` of every sub-pixel, times 4096, per image."""
    g = _grid(size, aa)
    dx = g[None, :] - cx[:, None]  # (n, side)
    dy = g[None, :] - cy[:, None]
    lx = (dx * cos[:, None])[:, None, :] + (dy * sin[:, None])[:, :, None]
    ly = (dy * cos[:, None])[:, :, None] - (dx * sin[:, None])[:, None, :]
    return lx, ly


def _triangle(lx, ly, r):
    # equilateral, circumradius r: three half-planes at distance r/2 from the centre
    # (sqrt(3) as 1732/1000)
    return (
        (2 * ly <= r) & (-1732 * lx - 1000 * ly <= 1000 * r) & (1732 * lx - 1000 * ly <= 1000 * r)
    )


def _shape_mask(label: int, lx, ly, r):
    """Inside test of class ``label`` in local coordinates; ``r`` is the outer radius."""
    import numpy as np

    ax, ay = np.abs(lx), np.abs(ly)
    d2 = lx * lx + ly * ly
    r2 = r * r
    name = SHAPE_CLASSES[label]
    if name == "disc":
        return d2 <= r2
    if name == "ring":  # inner radius 0.55 r
        return (d2 <= r2) & (400 * d2 >= 121 * r2)
    if name == "square":  # half side 0.8 r
        return 5 * np.maximum(ax, ay) <= 4 * r
    if name == "triangle":
        return _triangle(lx, ly, r)
    if name == "plus":  # arms 0.44 r wide
        return ((50 * ax <= 11 * r) & (ay <= r)) | ((50 * ay <= 11 * r) & (ax <= r))
    if name == "bar":  # 2 r long, 0.44 r thick
        return (ax <= r) & (50 * ay <= 11 * r)
    if name == "crescent":  # the disc minus a disc of 0.8 r shifted by 0.45 r
        return (d2 <= r2) & ((20 * lx - 9 * r) ** 2 + (20 * ly) ** 2 > (16 * r) ** 2)
    if name == "L":  # two bars 0.5 r thick along two sides of a 1.6 r square
        box = (5 * ax <= 4 * r) & (5 * ay <= 4 * r)
        return box & ((10 * lx <= -3 * r) | (10 * ly <= -3 * r))
    if name == "star":  # two triangles, one upside down (a hexagram)
        return _triangle(lx, ly, r) | _triangle(lx, -ly, r)
    # "two dots": radius 0.42 r, centres 0.55 r either side
    return ((100 * lx - 55 * r) ** 2 + (100 * ly) ** 2 <= (42 * r) ** 2) | (
        (100 * lx + 55 * r) ** 2 + (100 * ly) ** 2 <= (42 * r) ** 2
    )


def _paint(canvas, coverage, colour, aa: int):
    """Blend ``colour`` (n, 3) over ``canvas`` (n, h, w, 3) by ``coverage`` out of aa**2."""
    full = aa * aa
    cov = coverage[..., None]
    colour = colour.astype("int32")[:, None, None, :]
    return canvas + ((colour - canvas) * cov + full // 2) // full


# ---------------------------------------------------------------- drawing


def _draw(seed: int, split: str, indices, size: int):
    """Images ``indices`` of a split: uint8 ``(n, size, size, 3)`` and uint8 labels."""
    import numpy as np

    n = len(indices)
    rand = _Draws(_image_keys(seed, split, indices))
    cos_t = _cos_table()
    labels = indices % len(SHAPE_CLASSES)
    extent = size * _UNITS

    # background: a gradient between two random colours along a random direction
    # (channels 0-127: the shape, 128-255 in every channel, is always the lighter)
    c0 = np.stack([rand.below(128) for _ in range(3)], axis=1)
    c1 = np.stack([rand.below(128) for _ in range(3)], axis=1)
    angle = rand.below(_ANGLES)
    gc, gs = cos_t[angle], cos_t[(angle - 16) % _ANGLES]
    half = 2 * np.arange(size, dtype=np.int64) + 1 - size  # pixel centres, half-pixels
    t = (half[None, None, :] * gc[:, None, None]) + (half[None, :, None] * gs[:, None, None])
    span = size * (np.abs(gc) + np.abs(gs))  # > |t| everywhere, never 0
    span = span[:, None, None, None]
    t = t[..., None]
    canvas = (c0[:, None, None, :] * (span - t) + c1[:, None, None, :] * (span + t) + span) // (
        2 * span
    )
    canvas = canvas.astype(np.int32)

    # clutter behind the shape: small dots (each there or not) and thin lines (each there
    # in 3 images of 4) in any colour
    for _ in range(_STYLE["dots"]):
        present = rand.below(2)
        x, y = rand.below(extent), rand.below(extent)
        radius = rand.between(4, 12) * _ONE  # 0.5 to 1.5 pixels
        colour = np.stack([rand.below(256) for _ in range(3)], axis=1)
        lx, ly = _local(x, y, np.full(n, _ONE), np.zeros(n, np.int64), size, _CLUTTER_AA)
        mask = lx * lx + ly * ly <= (radius * radius)[:, None, None]
        cov = _coverage(mask, size, _CLUTTER_AA) * present[:, None, None]
        canvas = _paint(canvas, cov, colour, _CLUTTER_AA)
    for _ in range(_STYLE["lines"]):
        present = rand.below(4) > 0  # 3 in 4
        x, y = rand.below(extent), rand.below(extent)
        angle = rand.below(_ANGLES)
        width = rand.between(2, 4) * _ONE  # half-width 0.25 to 0.5 pixels
        colour = np.stack([rand.below(256) for _ in range(3)], axis=1)
        _, ly = _local(x, y, cos_t[angle], cos_t[(angle - 16) % _ANGLES], size, _CLUTTER_AA)
        mask = np.abs(ly) <= width[:, None, None]
        cov = _coverage(mask, size, _CLUTTER_AA) * present[:, None, None]
        canvas = _paint(canvas, cov, colour, _CLUTTER_AA)

    # the shape: outer radius 30 % to 46 % of the side, its centre at least 0.8 radius from
    # the border, lighter than the background in every channel
    low, high = _STYLE["radius_percent"]
    radius = rand.between(extent * low // 100, extent * high // 100)
    cx = rand.between(radius * 8 // 10, extent - radius * 8 // 10)
    cy = rand.between(radius * 8 // 10, extent - radius * 8 // 10)
    angle = rand.below(_ANGLES)
    colour = np.stack([rand.between(128, 255) for _ in range(3)], axis=1)
    cov = np.zeros((n, size, size), dtype=np.int32)
    for label in range(len(SHAPE_CLASSES)):
        rows = np.flatnonzero(labels == label)
        if len(rows) == 0:
            continue
        lx, ly = _local(
            cx[rows], cy[rows], cos_t[angle[rows]], cos_t[(angle[rows] - 16) % _ANGLES],
            size, _SHAPE_AA,
        )  # fmt: skip
        mask = _shape_mask(label, lx, ly, (radius[rows] * _ONE)[:, None, None])
        cov[rows] = _coverage(mask, size, _SHAPE_AA)
    canvas = _paint(canvas, cov, colour, _SHAPE_AA)

    # noise: triangular on [-amplitude, amplitude], the amplitude drawn per image
    amplitude = rand.between(*_STYLE["noise"])
    pixel = np.arange(size * size * 3, dtype=np.uint64)
    bits = _mix(rand.keys[:, None] ^ _mix(pixel + np.uint64(1 << 40))[None, :])
    a = (bits & np.uint64(0xFF)).astype(np.int64)
    b = ((bits >> np.uint64(8)) & np.uint64(0xFF)).astype(np.int64)
    noise = ((a + b - 255) * amplitude[:, None]) // 255
    canvas = canvas + noise.reshape(n, size, size, 3)
    return np.clip(canvas, 0, 255).astype(np.uint8), labels.astype(np.uint8)


@functools.lru_cache(maxsize=4)
def _cached(seed: int, split: str, count: int, size: int):
    import numpy as np

    chunk = max(1, 200_000 // (size * size))
    parts = [
        _draw(seed, split, np.arange(start, min(count, start + chunk), dtype=np.int64), size)
        for start in range(0, count, chunk)
    ]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def shapes_images(count: int, seed: int = 0, split: str = "train", size: int = 24):
    """The first ``count`` images of a split of the shapes set, as uint8.

    Image ``i`` has label ``i % 10`` (so any prefix is balanced to within one image per
    class) and depends only on ``(seed, split, i, size)``.

    Args:
        count: images, >= 1.
        seed: the dataset's seed, from 0 to 2**32 - 1 (0 is the course's).
        split: ``"train"`` or ``"test"``, two independent streams.
        size: the side of the square images in pixels, from 12 to 128.

    Returns:
        ``(images, labels)``: uint8 ``(count, size, size, 3)`` RGB images and uint8
        labels 0-9 (indices into :data:`SHAPE_CLASSES`). The arrays are read-only
        (they are cached); copy them to change them.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: an argument outside its range, or an unknown split.
    """
    count = integer(count, "count")
    seed = integer(seed, "seed", 0, maximum=_MAX_SEED)
    choice(split, "split", SPLITS)
    size = integer(size, "size", _MIN_SIZE, maximum=_MAX_SIZE)
    return _cached(seed, split, count, size)


def load_shapes_dataset(
    train_size: int = 4000, test_size: int = 1000, seed: int = 0, size: int = 24
):
    """The shapes set, split in train and test, as float32 images in [0, 1].

    Ten classes (:data:`SHAPE_CLASSES`) of a shape in a random light colour (128-255 in
    every channel), size (outer radius 30 % to 46 % of the side), position and rotation
    (64 angles), over a darker random colour gradient (0-127) with up to two thin lines
    and three small dots in any colour behind it; every pixel gets noise of a random
    amplitude (2 to 16 levels of 255). Generated on first use (one to two seconds for the
    default 5,000 images on a laptop CPU) and kept in memory.

    Args:
        train_size: training images, >= 10.
        test_size: test images, >= 10.
        seed: the dataset's seed (0, the default, is the one the lessons use).
        size: image side in pixels, from 12 to 128.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 ``(n, size, size, 3)`` images
        in [0, 1] and int64 labels 0-9, balanced to within one image per class.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: an argument outside its range.
    """
    import numpy as np

    train_size = integer(train_size, "train_size", 10)
    test_size = integer(test_size, "test_size", 10)
    out = []
    for split, count in (("train", train_size), ("test", test_size)):
        images, labels = shapes_images(count, seed, split, size)
        out.append((images.astype(np.float32) / np.float32(255), labels.astype(np.int64)))
    return tuple(out)
