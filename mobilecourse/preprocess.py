"""Preparing a camera image for a model, the right way and the usual wrong ways.

A deployed model expects its input exactly as it was trained: the same pixel range, the
same channel order, the same way of making the image square and the same resampling.
The interpreter checks only the tensor's shape, so a mismatch costs accuracy silently.
:func:`prepare` does every step explicitly, each a named option, so a lesson can feed a
model inputs prepared the wrong way and measure what each mistake costs. :func:`jpeg_bytes`
encodes an image as a camera app would send it to a cloud API, and :func:`sample_photo`
is a real photograph that ships offline (matplotlib's sample data).

Resampling uses Pillow (installed with matplotlib).
"""

from __future__ import annotations

import io

import numpy as np

from mobilecourse._validate import choice, integer

__all__ = [
    "CHANNEL_ORDERS",
    "CROPS",
    "INTERPOLATIONS",
    "SCALES",
    "SCALE_RANGES",
    "jpeg_bytes",
    "prepare",
    "sample_photo",
]

#: Pixel ranges a model may have been trained on: ``"unit"`` x / 255 in [0, 1];
#: ``"symmetric"`` x / 127.5 - 1 in [-1, 1] (Keras's MobileNet ``preprocess_input``);
#: ``"raw"`` the bytes as floats in [0, 255].
SCALES = ("unit", "symmetric", "raw")

#: The interval each of :data:`SCALES` puts the pixels in: ``(lowest, highest)``.
SCALE_RANGES = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0), "raw": (0.0, 255.0)}

#: Channel orders: the camera's and most frameworks' RGB, or OpenCV's and Caffe's BGR.
CHANNEL_ORDERS = ("RGB", "BGR")

#: Ways to make a picture square: ``"centre"`` resizes the shorter side to the size and
#: cuts the middle out (shapes keep their proportions); ``"squash"`` resizes the whole
#: picture to a square (a non-square picture is distorted).
CROPS = ("centre", "squash")

#: Resampling filters, by Pillow's names.
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "box")


def _pixels(image) -> np.ndarray:
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(f"image must be a uint8 array (camera pixels), got dtype {array.dtype}")
    if array.ndim != 3 or array.shape[2] != 3 or min(array.shape[:2]) < 1:
        raise ValueError(f"image must have shape (H, W, 3) (RGB), got {array.shape}")
    return array


def prepare(
    image,
    size: int,
    *,
    scale: str = "unit",
    channel_order: str = "RGB",
    crop: str = "centre",
    interpolation: str = "bilinear",
) -> np.ndarray:
    """One RGB camera image as a model input: square, resized, reordered and scaled.

    Args:
        image: ``(H, W, 3)`` uint8 RGB pixels.
        size: the model's input height and width (>= 1).
        scale: one of :data:`SCALES`.
        channel_order: one of :data:`CHANNEL_ORDERS`.
        crop: one of :data:`CROPS`.
        interpolation: one of :data:`INTERPOLATIONS`.

    Returns:
        ``(size, size, 3)`` float32.

    Raises:
        TypeError: ``image`` is not uint8; ``size`` not an integer.
        ValueError: a bad shape or an option not in its list.
    """
    from PIL import Image

    pixels = _pixels(image)
    size = integer(size, "size")
    choice(scale, "scale", SCALES)
    choice(channel_order, "channel_order", CHANNEL_ORDERS)
    choice(crop, "crop", CROPS)
    choice(interpolation, "interpolation", INTERPOLATIONS)
    resample = getattr(Image.Resampling, interpolation.upper())
    picture = Image.fromarray(pixels)
    height, width = pixels.shape[:2]
    if crop == "squash":
        picture = picture.resize((size, size), resample)
    else:
        shorter = min(height, width)
        new = (max(size, round(width * size / shorter)), max(size, round(height * size / shorter)))
        picture = picture.resize(new, resample)
        left, top = (new[0] - size) // 2, (new[1] - size) // 2
        picture = picture.crop((left, top, left + size, top + size))
    out = np.asarray(picture, dtype="float32")
    if channel_order == "BGR":
        out = out[..., ::-1]
    if scale == "unit":
        out = out / 255.0
    elif scale == "symmetric":
        out = out / 127.5 - 1.0
    return np.ascontiguousarray(out, dtype="float32")


def jpeg_bytes(image, quality: int = 90) -> bytes:
    """The image encoded as a JPEG file, as an app would upload it.

    Args:
        image: ``(H, W, 3)`` uint8 RGB pixels.
        quality: Pillow's JPEG quality, 1 to 95 (the Koul, Ganju and Kasam deck sends
            photos to cloud APIs at 90).

    Returns:
        The file's bytes (baseline JPEG, Pillow's default 4:2:0 chroma subsampling).
    """
    from PIL import Image

    pixels = _pixels(image)
    quality = integer(quality, "quality", 1, maximum=95)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def sample_photo() -> np.ndarray:
    """A real photograph that ships offline: matplotlib's ``grace_hopper.jpg``.

    Returns:
        ``(600, 512, 3)`` uint8 RGB pixels (Grace Hopper's official portrait, a
        public-domain U.S. Navy photograph, in matplotlib's sample data).
    """
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as file:
        return np.asarray(Image.open(file).convert("RGB"))
