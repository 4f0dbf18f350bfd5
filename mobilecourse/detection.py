"""Object detectors as Keras 3 models, built from config tables: SSD300 and SSDLite.

A single-shot detector (SSD, Liu et al. 2016) puts a small predictor on each of several
feature maps of a backbone: at every position it scores a few *anchor* boxes (one row of
class scores and four box offsets per anchor). Coarse maps find large objects, fine maps
small ones. SSDLite (MobileNetV2 paper, Sandler et al. 2018, Section 6.2) replaces every
regular convolution of SSD's extra layers and predictors by a depthwise separable one and
puts the head on a MobileNet. The factories build the networks offline with random
weights; their costs reproduce the MobileNetV2 paper's Table 6 (COCO):

============================  ===============  ==================  ================
network (320x320, SSD 300)    paper: MACs      this module         params (paper)
============================  ===============  ==================  ================
MNet V2 + SSDLite             0.8B             788,830,144         4,387,765 (4.3M)
MNet V1 + SSDLite             1.3B             1,309,162,944       5,137,909 (5.1M)
SSD300 (VGG16)                35.2B            34,360,351,232      34,304,694 (36.1M)
============================  ===============  ==================  ================

with 81 classes (COCO's 80 categories and the background). Parameters are weights and
biases without BatchNorm (folded into the convolutions when deployed), as the course counts
elsewhere. The papers do not print every detail of their detectors; where this module
chooses, it follows the TensorFlow Object Detection API's SSDLite configuration (named in
each table below) and the SSD paper's Figure 2.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import layers

from mobilecourse import blocks, models
from mobilecourse._validate import choice, integer

__all__ = [
    "COCO_CLASSES",
    "SSD300_ANCHORS",
    "SSD300_EXTRAS",
    "SSDLITE_ANCHORS",
    "SSDLITE_BACKBONES",
    "SSDLITE_EXTRAS",
    "ExtraRow",
    "ssd300",
    "ssdlite",
]

#: COCO's 80 object categories plus the background class.
COCO_CLASSES = 81

#: Backbones :func:`ssdlite` takes, with the layers whose outputs feed the head: for
#: MobileNetV2 the expansion of the first stride-2 block of the 160-channel stage (output
#: stride 16, "layer 15" in the paper's count) and the last 1x1 convolution (stride 32);
#: for MobileNet v1 the last 512- and 1024-channel blocks (strides 16 and 32).
SSDLITE_BACKBONES = {
    "mobilenet_v2": ("block_13_expand_relu", "Conv_1_relu"),
    "mobilenet_v1": ("conv_ds_11_pw_relu", "conv_ds_13_pw_relu"),
}

#: SSDLite's extra feature maps after the backbone's last: output channels of each; each is
#: a 1x1 convolution to half the channels, then a depthwise separable 3x3 stride 2 block
#: (TensorFlow Object Detection API, ``ssd_mobilenet_v2_feature_extractor``:
#: layer depths 512, 256, 256, 128).
SSDLITE_EXTRAS = (512, 256, 256, 128)

#: Anchors per position on each of SSDLite's six feature maps, finest first: 3 on the
#: first map, then one per aspect ratio (1, 2, 1/2, 3, 1/3) plus an extra square box
#: (Object Detection API: ``reduce_boxes_in_lowest_layer``).
SSDLITE_ANCHORS = (3, 6, 6, 6, 6, 6)


class ExtraRow(NamedTuple):
    """One of SSD300's extra feature layers: 1x1 conv, then a 3x3 conv."""

    name: str
    reduce: int  # filters of the 1x1 convolution
    filters: int  # filters of the 3x3 convolution
    strides: int
    padding: str


#: SSD300's layers after VGG16's conv5_3: pool5 is 3x3 stride 1, conv6 a 3x3 convolution of
#: 1,024 filters dilated by 6, conv7 a 1x1 of 1,024, then these (Liu et al. 2016, Figure 2).
SSD300_EXTRAS = (
    ExtraRow("conv8", 256, 512, 2, "same"),
    ExtraRow("conv9", 128, 256, 2, "same"),
    ExtraRow("conv10", 128, 256, 1, "valid"),
    ExtraRow("conv11", 128, 256, 1, "valid"),
)

#: Anchors per position on SSD300's six maps (conv4_3, conv7, conv8_2 ... conv11_2).
SSD300_ANCHORS = (4, 6, 6, 6, 4, 4)

#: VGG16's convolution stages: (filters, convolutions); a 2x2 max-pool follows each but
#: the last (pool3 rounds up: 75 -> 38 at 300x300).
_VGG16_STAGES = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def _predictions(features, anchors, classes: int, separable: bool):
    """Box offsets and class logits of every anchor on every map, concatenated."""
    boxes, scores = [], []
    for i, (feature, count) in enumerate(zip(features, anchors, strict=True)):
        for kind, per_anchor, out in (("box", 4, boxes), ("class", classes, scores)):
            name = f"{kind}_predictor_{i}"
            y = feature
            if separable:
                y = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{name}_dw")(y)
                y = layers.BatchNormalization(name=f"{name}_dw_bn")(y)
                y = layers.ReLU(6.0, name=f"{name}_dw_relu")(y)
                y = layers.Conv2D(count * per_anchor, 1, name=name)(y)
            else:
                y = layers.Conv2D(count * per_anchor, 3, padding="same", name=name)(y)
            out.append(layers.Reshape((-1, per_anchor), name=f"{name}_rows")(y))
    return (
        layers.Concatenate(axis=1, name="boxes")(boxes),
        layers.Concatenate(axis=1, name="class_logits")(scores),
    )


def ssdlite(
    backbone: str = "mobilenet_v2",
    input_shape: tuple[int, int, int] = (320, 320, 3),
    classes: int = COCO_CLASSES,
) -> keras.Model:
    """SSDLite on a MobileNet (Sandler et al. 2018, Section 6.2 and Table 6).

    Six feature maps: two from the backbone (:data:`SSDLITE_BACKBONES`) and four extra
    ones (:data:`SSDLITE_EXTRAS`); on each, for box offsets and for class logits apart, a
    3x3 depthwise convolution (BatchNorm, ReLU6) and a 1x1 convolution with
    ``anchors x 4`` or ``anchors x classes`` filters (:data:`SSDLITE_ANCHORS`).

    Cost:
        At 320x320 with 81 classes: MobileNetV2 + SSDLite 788,830,144 MACs and 4,387,765
        parameters (Table 6: 0.8B, 4.3M); MobileNet v1 + SSDLite 1,309,162,944 MACs and
        5,137,909 parameters (Table 6: 1.3B, 5.1M).

    Args:
        backbone: ``"mobilenet_v2"`` or ``"mobilenet_v1"`` (width 1.0).
        input_shape: ``(H, W, C)``, at least 257x257 (nine stride-2 steps down to the last 1x1 map).
        classes: classes scored per anchor, the background included.

    Returns:
        A ``keras.Model`` named like ``ssdlite_mobilenet_v2_320`` with two outputs:
        ``boxes`` ``(batch, anchors, 4)`` and ``class_logits`` ``(batch, anchors, classes)``.

    Raises:
        ValueError: an unknown ``backbone``, a bad ``classes`` or an input too small.
    """
    choice(backbone, "backbone", tuple(SSDLITE_BACKBONES))
    input_shape = models._input_shape(input_shape)
    classes = integer(classes, "classes")
    steps = [(3, 2, "same")] * (5 + len(SSDLITE_EXTRAS))
    models._check_fits(f"ssdlite_{backbone}", input_shape, steps)
    factory = models.mobilenet_v2 if backbone == "mobilenet_v2" else models.mobilenet_v1
    base = factory(input_shape=input_shape)
    features = [base.get_layer(name).output for name in SSDLITE_BACKBONES[backbone]]
    x = features[-1]
    for i, filters in enumerate(SSDLITE_EXTRAS, start=1):
        x = blocks.conv_bn_relu(
            x, filters=filters // 2, kernel_size=1, activation="relu6", name=f"extra_{i}_reduce"
        )
        x = blocks.depthwise_separable_block(
            x, filters=filters, strides=2, activation="relu6", name=f"extra_{i}"
        )
        features.append(x)
    outputs = _predictions(features, SSDLITE_ANCHORS, classes, separable=True)
    return keras.Model(base.input, outputs, name=f"ssdlite_{backbone}_{input_shape[0]}")


def ssd300(classes: int = COCO_CLASSES) -> keras.Model:
    """SSD300 on VGG16 (Liu et al. 2016, Figure 2), as MobileNetV2's Table 6 compares it.

    VGG16's thirteen 3x3 convolutions (ReLU, biases), conv6 (3x3, 1,024 filters, dilation
    6) and conv7 (1x1, 1,024) in place of the dense layers, then :data:`SSD300_EXTRAS`;
    3x3 predictors on conv4_3, conv7, conv8_2, conv9_2, conv10_2 and conv11_2
    (38, 19, 10, 5, 3 and 1 pixels square) with :data:`SSD300_ANCHORS` anchors. conv4_3's
    L2 normalisation (512 scales, no MACs) is left out.

    Cost:
        With 81 classes: 34,360,351,232 MACs and 34,304,694 parameters (Table 6: 35.2B
        and 36.1M; the SSD paper does not give its own count, and its COCO model's exact
        head is not printed).

    Args:
        classes: classes scored per anchor, the background included.

    Returns:
        A ``keras.Model`` named ``ssd300`` with outputs ``boxes`` and ``class_logits``.

    Raises:
        ValueError: a bad ``classes``.
    """
    classes = integer(classes, "classes")
    inputs = keras.Input((300, 300, 3), name="input")
    x = inputs
    features = []
    for stage, (filters, convs) in enumerate(_VGG16_STAGES, start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(
                filters, 3, padding="same", activation="relu", name=f"conv{stage}_{i}"
            )(x)
        if stage == 4:
            features.append(x)
        if stage < 5:
            x = layers.MaxPooling2D(2, padding="same", name=f"pool{stage}")(x)
    x = layers.MaxPooling2D(3, strides=1, padding="same", name="pool5")(x)
    x = layers.Conv2D(1024, 3, padding="same", dilation_rate=6, activation="relu", name="conv6")(x)
    x = layers.Conv2D(1024, 1, activation="relu", name="conv7")(x)
    features.append(x)
    for row in SSD300_EXTRAS:
        x = layers.Conv2D(row.reduce, 1, activation="relu", name=f"{row.name}_1")(x)
        x = layers.Conv2D(
            row.filters,
            3,
            strides=row.strides,
            padding=row.padding,
            activation="relu",
            name=f"{row.name}_2",
        )(x)
        features.append(x)
    outputs = _predictions(features, SSD300_ANCHORS, classes, separable=False)
    return keras.Model(inputs, outputs, name="ssd300")
