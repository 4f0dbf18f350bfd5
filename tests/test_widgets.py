"""The calculators: the functions behind them are exact, the widgets show their numbers."""

import itertools

import pytest

from mobilecourse import models, widgets


def test_conv_costs_reproduce_mobilenet_table3():
    r = widgets.conv_costs(3, 512, 512, 14)
    assert (r["standard"].macs, r["standard"].params) == (462_422_016, 2_359_296)
    assert (r["separable"].macs, r["separable"].params) == (52_283_392, 266_752)
    assert widgets.conv_costs(3, 512, 512, 14, width=0.75)["separable"].macs == 29_578_752
    rho = widgets.conv_costs(3, 512, 512, 14, width=0.75, rho=0.714)
    assert rho["size"] == 10 and rho["separable"].macs == 15_091_200
    assert r["separable_ratio"] == pytest.approx(1 / 512 + 1 / 9)


def test_conv_costs_group_and_impossible_groups():
    r = widgets.conv_costs(3, 240, 240, 28, groups=3)
    assert r["group"].macs * 3 == r["standard"].macs and r["group_ratio"] == pytest.approx(1 / 3)
    bad = widgets.conv_costs(3, 32, 32, 28, groups=3)
    assert bad["group"] is None and "groups=3 does not divide 32" in bad["group_error"]


def test_conv_explorer_updates_to_exact_numbers():
    explorer = widgets.conv_cost_explorer()
    assert "462,422,016" in explorer.result.value and "52,283,392" in explorer.result.value
    explorer.controls["width"].value = 0.75
    assert "29,578,752" in explorer.result.value
    explorer.controls["rho"].value = 0.7  # round(0.7 * 14) = 10, as the paper's 0.714
    assert "15,091,200" in explorer.result.value
    explorer.controls["kernel_size"].value = 5
    expected = 10 * 10 * 25 * 384 * 384
    assert f"{expected:,}" in explorer.result.value
    explorer.controls["groups"].value = 3
    assert "does not divide" not in explorer.result.value  # 384 = 3 x 128
    explorer.controls["width"].value = 0.5  # 256 channels: 3 does not divide them
    assert "groups=3 does not divide 256" in explorer.result.value


def test_conv_explorer_survives_every_extreme_setting():
    explorer = widgets.conv_cost_explorer()
    extremes = {
        name: (c.min, c.max) if hasattr(c, "min") else tuple(c.options)
        for name, c in explorer.controls.items()
    }
    names = list(extremes)
    for combo in itertools.product(*(extremes[n] for n in names)):
        for name, value in zip(names, combo, strict=True):
            explorer.controls[name].value = value
        assert "MACs" in explorer.result.value


def test_squeezenet_size_matches_built_models():
    assert widgets.squeezenet_size()["params"] == 1_248_424
    for sr, pct in [(0.125, 0.5), (0.25, 0.0), (1.0, 1.0), (0.5, 0.75)]:
        model = models.squeezenet(fires=models.squeezenet_design(sr, pct))
        assert widgets.squeezenet_size(sr, pct)["params"] == model.count_params(), (sr, pct)


def test_fire_explorer_updates_and_survives_extremes():
    explorer = widgets.fire_explorer()
    assert "1,248,424" in explorer.result.value and "4.76 MiB" in explorer.result.value
    explorer.controls["squeeze_ratio"].value = 0.25
    expected = widgets.squeezenet_size(0.25, 0.5)["params"]
    assert expected != 1_248_424 and f"{expected:,}" in explorer.result.value
    for sr in (0.125, 1.0):
        for pct in (0.0, 1.0):
            explorer.controls["squeeze_ratio"].value = sr
            explorer.controls["pct3x3"].value = pct
            assert "parameters" in explorer.result.value


def test_mobilenet_costs_and_explorer():
    assert widgets.mobilenet_costs(1.0, 224) == (568_740_352, 4_209_088)
    explorer = widgets.mobilenet_explorer()
    assert "568,740,352" in explorer.result.value and "<svg" in explorer.result.value
    explorer.controls["width"].value = 0.5
    assert "149,497,088" in explorer.result.value
    explorer.controls["width"].value = 1.0
    explorer.controls["input_size"].value = 128
    assert "186,400,768" in explorer.result.value
    explorer.controls["width"].value = 0.25
    explorer.controls["input_size"].value = 96
    assert "MACs" in explorer.result.value


def test_explorer_repr_is_short_and_stable():
    assert repr(widgets.fire_explorer()) == (
        "<SqueezeNet design-space explorer: squeeze_ratio=0.125, pct3x3=0.5>"
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"width": 0}, ValueError), ({"rho": -1}, ValueError), ({"width": True}, TypeError)],
)
def test_conv_costs_bad_multipliers(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        widgets.conv_costs(3, 8, 8, 8, **kwargs)


# ---------------------------------------------------------------- ShuffleNet


@pytest.mark.parametrize("groups", [1, 2, 3, 4, 8])
def test_shufflenet_costs_round_to_table_1(groups):
    # Zhang et al. 2017, Table 1: complexity of ShuffleNet 1x by g, in millions of MACs
    printed = {1: 143, 2: 140, 3: 137, 4: 133, 8: 137}[groups]
    widths = {1: 144, 2: 200, 3: 240, 4: 272, 8: 384}[groups]  # stage 2 output, Table 1
    r = widgets.shufflenet_costs(groups, 1.0)
    assert round(r["conv_macs"] / 1e6) == printed and r["paper_macs"] == printed * 10**6
    assert r["stage_channels"] == (widths, 2 * widths, 4 * widths)
    # the classifier adds its 1000 x stage-4 channels
    assert r["macs"] - r["conv_macs"] == 4 * widths * 1000
    assert widgets.shufflenet_costs(groups, 0.5)["paper_macs"] is None


def _unit_macs(layers_of, channels, size):
    import keras

    from mobilecourse.profile import profile_model

    inputs = keras.Input((size, size, channels))
    return profile_model(keras.Model(inputs, layers_of(inputs))).macs


@pytest.mark.parametrize(("channels", "groups"), [(240, 3), (144, 1), (384, 8), (272, 4)])
def test_unit_costs_equal_the_built_units(channels, groups):
    import keras

    from mobilecourse import blocks

    size, m = 28, channels // 4
    r = widgets.shufflenet_unit_costs(channels, size, groups)
    assert r["bottleneck"] == m

    def bottleneck(g):
        def build(x):
            x = keras.layers.Conv2D(m, 1, use_bias=False)(x)
            x = keras.layers.Conv2D(m, 3, padding="same", groups=g, use_bias=False)(x)
            return keras.layers.Conv2D(channels, 1, use_bias=False)(x)

        return build

    assert r["ResNet"] == _unit_macs(bottleneck(1), channels, size)
    assert r["ResNeXt"] == _unit_macs(bottleneck(groups), channels, size)
    unit = lambda x: blocks.shufflenet_unit(  # noqa: E731
        x, out_channels=channels, groups=groups, strides=1, name="unit"
    )
    assert r["ShuffleNet"] == _unit_macs(unit, channels, size)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channels": 242}, ValueError, "channels must be divisible by 4"),
        ({"channels": 240, "groups": 8}, ValueError, "groups must divide the bottleneck"),
        ({"channels": 240.0}, TypeError, "channels"),
        ({"size": 0}, ValueError, "size"),
    ],
)
def test_unit_costs_refuse_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        widgets.shufflenet_unit_costs(**kwargs)


def test_shufflenet_explorer_updates_its_numbers():
    explorer = widgets.shufflenet_explorer()
    assert repr(explorer) == "<ShuffleNet explorer: groups=3, width=1.0>"
    text = explorer.result.value
    assert "136,500,672" in text and "Table 1: 137M" in text and "<svg" in text
    assert "28x28x240, m = 60" in text
    explorer.controls["groups"].value = 8
    assert "136,829,952" in explorer.result.value and "28x28x384" in explorer.result.value
    explorer.controls["width"].value = 0.25
    text = explorer.result.value
    assert "Table 1 lists 1x only" in text and "ShuffleNet 0.25x, g = 8" in text
    assert [label for label, _ in explorer.controls["width"].options] == [
        "0.25x", "0.5x", "1x", "1.5x", "2x"
    ]  # fmt: skip


# ---------------------------------------------------------------- MobileNetV2


def test_mobilenet_v2_costs_reproduce_table_4_and_the_first_blocks_peak():
    r = widgets.mobilenet_v2_costs(6, 1.0, 224)
    # Sandler et al. 2018, Table 4: 300M MACs, 3.4M parameters (weights + biases)
    assert (r["macs"], r["params"]) == (300_774_272, 3_470_760)
    # the peak: block_0 reads 112x112x32 and writes 112x112x16, 2 bytes a value
    assert r["peak_bytes"] == 2 * 112 * 112 * (32 + 16)


def test_mobilenet_v2_macs_grow_linearly_with_the_expansion_factor():
    # every block but the first costs h w d' t (d' + k^2 + d''): linear in t
    macs = [widgets.mobilenet_v2_costs(t, 0.5, 128)["macs"] for t in (2, 3, 4)]
    assert macs[2] - macs[1] == macs[1] - macs[0] > 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"expansion": 0}, ValueError, "expansion"), ({"expansion": 2.5}, TypeError, "expansion"),
     ({"input_size": 16}, ValueError, "too small"), ({"width": 0}, ValueError, "width")],
)  # fmt: skip
def test_mobilenet_v2_costs_refuse_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        widgets.mobilenet_v2_costs(**kwargs)


def test_mobilenet_v2_explorer_updates_its_numbers():
    explorer = widgets.mobilenet_v2_explorer()
    text = explorer.result.value
    # ours for the three networks at 224, and the paper's rows beside them
    assert "300,774,272" in text and "568,740,352" in text and "524,045,184" in text
    assert "1,204.2" in text and "300M, 3.4M, 200" in text and "<svg" in text
    explorer.controls["expansion"].value = 1
    assert "MobileNetV2 t=1, α=1" in explorer.result.value
    assert "300,774,272" not in explorer.result.value
    explorer.controls["input_size"].value = 96
    assert "At 96x96" in explorer.result.value
