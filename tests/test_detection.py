"""SSDLite and SSD300 (mobilecourse.detection) against MobileNetV2's Table 6.

Expected anchor and head counts are worked out by hand from the papers' layer shapes, never
read from the code under test; the published costs come from ``data/mobilenet_v2_table6.csv``.
"""

import keras
import pytest

from mobilecourse import detection, models
from mobilecourse.data import paper_table
from mobilecourse.profile import profile_model


@pytest.fixture(scope="module")
def table6():
    return paper_table("mobilenet_v2_table6").set_index("network")


@pytest.fixture(scope="module")
def costs():
    """MACs and parameters of the three detectors at the paper's sizes (81 classes)."""
    keras.utils.clear_session()
    built = {
        "MNet V2 + SSDLite": detection.ssdlite("mobilenet_v2"),
        "MNet V1 + SSDLite": detection.ssdlite("mobilenet_v1"),
        "SSD300": detection.ssd300(),
    }
    return {name: profile_model(model) for name, model in built.items()}


@pytest.mark.parametrize("network", ["MNet V2 + SSDLite", "MNet V1 + SSDLite"])
def test_ssdlite_reproduces_table6(costs, table6, network):
    paper = table6.loc[network]
    # the paper prints MACs to 0.1 billion: ours must round to the same figure
    assert round(costs[network].macs / 1e9, 1) == paper["mult_adds_billions"]
    # parameters printed to 0.1 million; ours within 3 % (4.39M against 4.3M for V2)
    assert costs[network].params == pytest.approx(paper["params_millions"] * 1e6, rel=0.03)


def test_ssd300_within_a_few_percent_of_table6(costs, table6):
    paper = table6.loc["SSD300"]
    assert costs["SSD300"].macs == pytest.approx(paper["mult_adds_billions"] * 1e9, rel=0.03)
    assert costs["SSD300"].params == pytest.approx(paper["params_millions"] * 1e6, rel=0.06)


def test_ssdlite_is_about_40_times_cheaper_than_ssd300(costs):
    # Table 6: 35.2B against 0.8B mult-adds, 36.1M against 4.3M parameters
    ratio = costs["SSD300"].macs / costs["MNet V2 + SSDLite"].macs
    assert 40 < ratio < 48
    assert costs["SSD300"].params / costs["MNet V2 + SSDLite"].params > 7


def test_anchor_counts():
    keras.utils.clear_session()
    # SSD300: 38^2*4 + 19^2*6 + 10^2*6 + 5^2*6 + 3^2*4 + 1*4 = 8732 boxes (Liu et al. 2016)
    boxes, logits = detection.ssd300(classes=21).outputs
    assert tuple(boxes.shape) == (None, 8732, 4)
    assert tuple(logits.shape) == (None, 8732, 21)
    # SSDLite at 320: maps 20, 10, 5, 3, 2, 1 with 3, 6, 6, 6, 6, 6 anchors
    expected = 20 * 20 * 3 + (10 * 10 + 5 * 5 + 3 * 3 + 2 * 2 + 1) * 6
    assert expected == 2034
    assert tuple(detection.ssdlite().outputs[1].shape) == (None, expected, 81)


def test_ssdlite_head_costs_what_the_layer_shapes_give():
    keras.utils.clear_session()
    detector = profile_model(detection.ssdlite("mobilenet_v2", classes=91))
    backbone = profile_model(models.mobilenet_v2(input_shape=(320, 320, 3)))
    backbone_macs = backbone.macs - 1280 * 1000  # without its classifier
    # extra maps: 1x1 to half the channels, depthwise 3x3 stride 2, 1x1 to the full width
    extras, channels, size = 0, 1280, 10
    for filters in (512, 256, 256, 128):
        half, out = filters // 2, (size + 1) // 2
        extras += size * size * channels * half + out * out * half * (9 + filters)
        channels, size = filters, out
    # predictors: per map, for 4 box numbers and 91 class logits apart, a depthwise 3x3
    # and a 1x1 convolution to anchors x outputs
    maps = [(20, 576, 3), (10, 1280, 6), (5, 512, 6), (3, 256, 6), (2, 256, 6), (1, 128, 6)]
    head = sum(s * s * c * (9 + a * n) for s, c, a in maps for n in (4, 91))
    assert detector.macs == backbone_macs + extras + head


def test_bad_arguments():
    with pytest.raises(ValueError, match="backbone must be one of"):
        detection.ssdlite("resnet50")
    with pytest.raises(ValueError, match="at least 257x257"):
        detection.ssdlite(input_shape=(224, 224, 3))
    with pytest.raises(ValueError, match="classes"):
        detection.ssdlite(classes=0)
    with pytest.raises(TypeError, match="classes"):
        detection.ssd300(classes="81")
