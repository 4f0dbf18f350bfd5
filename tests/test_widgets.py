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


# ---------------------------------------------------------------- roofline


def _roof(peak=50.0, bandwidth=20.0, cache=None):
    from mobilecourse.roofline import Roof

    return Roof(peak_gmacs=peak, bandwidth_gbs=bandwidth, cache_bandwidth_gbs=cache)


def test_roofline_costs_of_a_3x3_conv_and_a_depthwise_layer():
    roof = _roof()  # ridge at 50 / 20 = 2.5 MACs per byte
    r = widgets.roofline_costs("conv", 56, 64, 64, 3, roof=roof)
    macs = 56 * 56 * 9 * 64 * 64  # Dout^2 Dk^2 M N, "same" padding, stride 1
    traffic = 4 * (56 * 56 * 64 + 9 * 64 * 64 + 56 * 56 * 64)  # read input, weights; write output
    assert (r["macs"], r["traffic_bytes"]) == (macs, traffic) == (115_605_504, 1_753_088)
    assert r["intensity"] == pytest.approx(macs / traffic)
    assert r["ridge"] == 2.5 and r["bound"] == "compute"
    assert r["attainable_gmacs"] == 50.0 == min(50.0, 20.0 * macs / traffic)
    assert r["min_time_us"] == pytest.approx(macs / 50e9 * 1e6)
    assert r["cache_attainable_gmacs"] is None

    d = widgets.roofline_costs("depthwise", 56, 64, 999, 3, roof=_roof(cache=40.0))
    macs, traffic = 56 * 56 * 9 * 64, 4 * (2 * 56 * 56 * 64 + 9 * 64)  # filters ignored
    assert (d["macs"], d["traffic_bytes"], d["bound"]) == (macs, traffic, "memory")
    assert d["attainable_gmacs"] == pytest.approx(20.0 * macs / traffic)  # B * I < P
    assert d["cache_attainable_gmacs"] == pytest.approx(40.0 * macs / traffic)  # < P too


def test_roofline_costs_with_stride_and_groups():
    r = widgets.roofline_costs("conv", 28, 384, 384, 1, strides=2, groups=8, roof=_roof())
    macs = 14 * 14 * (384 // 8) * 384  # ceil(28 / 2) = 14
    traffic = 4 * (28 * 28 * 384 + 384 // 8 * 384 + 14 * 14 * 384)
    assert (r["macs"], r["traffic_bytes"], r["output_shape"]) == (macs, traffic, (14, 14, 384))
    assert r["attainable_gmacs"] == pytest.approx(min(50.0, 20.0 * macs / traffic))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kind": "dense"}, ValueError, "kind"),
        ({"channels": 64, "groups": 3}, ValueError, "groups=3 does not divide 64"),
        ({"kind": "depthwise", "groups": 2}, ValueError, "groups must be 1"),
        ({"size": 0}, ValueError, "size"),
        ({"channels": 6.0}, TypeError, "channels"),
        ({"kernel_size": 0}, ValueError, "kernel_size"),
        ({"roof": (50.0, 20.0)}, TypeError, "roof"),
    ],
)
def test_roofline_costs_refuse_bad_input(kwargs, error, match):
    arguments = {"kind": "conv", "size": 56, "channels": 64, "filters": 64, "roof": _roof()}
    with pytest.raises(error, match=match):
        widgets.roofline_costs(**{**arguments, **kwargs})


def test_roofline_explorer_updates_its_numbers():
    explorer = widgets.roofline_explorer(roof=_roof())
    assert repr(explorer).startswith("<Roofline explorer: kind=standard convolution, size=56,")
    text = explorer.result.value
    assert "115,605,504" in text and "1,753,088" in text and "compute-bound" in text
    assert (
        f"{115_605_504 / 1_753_088:.2f}" in text and "ridge P / B = 2.50" in text and "<svg" in text
    )
    explorer.controls["kind"].value = "depthwise"
    macs, traffic = 56 * 56 * 9 * 64, 4 * (2 * 56 * 56 * 64 + 9 * 64)
    text = explorer.result.value
    assert f"{macs:,}" in text and f"{traffic:,}" in text and "memory-bound" in text
    assert f"{20.0 * macs / traffic:.1f} GMAC/s" in text
    explorer.controls["kind"].value = "1x1 pointwise"
    explorer.controls["groups"].value = 8
    assert f"{56 * 56 * 8 * 64:,}" in explorer.result.value  # M/g = 8 inputs per filter
    explorer.controls["channels"].value = 60
    assert "groups=8 does not divide 60" in explorer.result.value


def test_roofline_explorer_survives_every_extreme_setting():
    explorer = widgets.roofline_explorer(roof=_roof(cache=40.0))
    sliders = [name for name, c in explorer.controls.items() if hasattr(c, "min")]
    low = {n: explorer.controls[n].min for n in sliders}
    high = {n: explorer.controls[n].max for n in sliders}
    mixed = {n: (low, high)[i % 2][n] for i, n in enumerate(sliders)}
    swapped = {n: (high, low)[i % 2][n] for i, n in enumerate(sliders)}
    kinds = explorer.controls["kind"].options
    for kind, g, corner in itertools.product(kinds, (1, 8), (low, high, mixed, swapped)):
        for name, value in {"kind": kind, "groups": g, **corner}.items():
            explorer.controls[name].value = value
        assert "MACs" in explorer.result.value or "does not divide" in explorer.result.value


def test_roofline_explorer_refuses_a_roof_of_another_type():
    with pytest.raises(TypeError, match="roof"):
        widgets.roofline_explorer(roof={"peak_gmacs": 1.0})


# ---------------------------------------------------------------- Deep Compression

#: SqueezeNet v1.0's kernels (Iandola et al. 2016, Table 1), written out: conv1 7x7x3x96,
#: the fire modules' squeeze 1x1, expand 1x1 and expand 3x3 on their input channels, and
#: conv10 1x1x512x1000.
_FIRES = {  # name: (input channels, s1x1, e1x1, e3x3)
    "fire2": (96, 16, 64, 64), "fire3": (128, 16, 64, 64), "fire4": (128, 32, 128, 128),
    "fire5": (256, 32, 128, 128), "fire6": (256, 48, 192, 192), "fire7": (384, 48, 192, 192),
    "fire8": (384, 64, 256, 256), "fire9": (512, 64, 256, 256),
}  # fmt: skip
_KERNEL_SIZES = {"conv1": 7 * 7 * 3 * 96, "conv10": 512 * 1000}
for _name, (_c, _s, _e1, _e3) in _FIRES.items():
    _KERNEL_SIZES |= {
        f"{_name}_squeeze1x1": _c * _s,
        f"{_name}_expand1x1": _s * _e1,
        f"{_name}_expand3x3": 9 * _s * _e3,
    }
_BIASES = 96 + 1000 + sum(s + e1 + e3 for _, s, e1, e3 in _FIRES.values())


def test_compression_sizes_of_the_dense_network_follow_the_formulas():
    r = widgets.compression_sizes(1.0, 4, 4)
    assert _BIASES == r["biases"] == 3_976 and r["params"] == 1_248_424
    fixed = r["fixed"]
    assert fixed["codes"] == sum(-(-n * 4 // 8) for n in _KERNEL_SIZES.values())
    assert fixed["indices"] == 0 and fixed["tables"] == 0  # whole kernels store no index
    assert fixed["codebook"] == len(_KERNEL_SIZES) * 4 * 2**4
    assert fixed["biases"] == 4 * 3_976 and r["fillers"] == 0
    assert r["fixed_total"] == sum(fixed.values())
    assert r["float32_bytes"] == 4 * 1_248_424
    # Huffman: one table entry per code symbol of each kernel, never more code bits
    huffman = r["huffman"]
    assert huffman["tables"] == len(_KERNEL_SIZES) * 2**4 and huffman["indices"] == 0
    assert huffman["codes"] <= fixed["codes"]


def test_compression_sizes_with_table_1_count_codes_indices_and_fillers():
    import numpy as np

    bits, index_bits = 6, 4
    r = widgets.compression_sizes("table1", bits, index_bits, seed=0)
    densities = {  # Table 1's percent kept of s1x1, e1x1, e3x3
        "fire2": (100, 100, 33), "fire3": (100, 100, 33), "fire4": (100, 100, 33),
        "fire5": (100, 100, 33), "fire6": (100, 50, 33), "fire7": (50, 100, 33),
        "fire8": (100, 50, 33), "fire9": (50, 100, 30),
    }  # fmt: skip
    table1 = {"conv1": 100, "conv10": 20}
    for name, d in densities.items():
        parts = (f"{name}_squeeze1x1", f"{name}_expand1x1", f"{name}_expand3x3")
        table1 |= dict(zip(parts, d, strict=True))
    kept = {k: -(-table1[k] * n // 100) for k, n in _KERNEL_SIZES.items()}
    # kept weights + biases: Table 1's 421,098 with fire8's misprint replaced (lesson 07)
    assert r["kept"] + _BIASES == 421_098 - 77_581 + 82_005
    # fillers by hand: lesson 07's weights, magnitude masks, floor(run / 2**b) per gap
    import keras

    from mobilecourse import models

    keras.utils.set_random_seed(0)
    model = models.squeezenet()
    fillers = {}
    for name, n in _KERNEL_SIZES.items():
        if kept[name] == n:
            fillers[name] = 0
            continue
        w = keras.ops.convert_to_numpy(model.get_layer(name).kernel).ravel()
        positions = np.sort(np.argsort(-np.abs(w), kind="stable")[: kept[name]])
        runs = np.diff(np.concatenate([[-1], positions])) - 1
        fillers[name] = int((runs // 2**index_bits).sum())
    assert r["fillers"] == sum(fillers.values()) > 0
    entries = {k: kept[k] + fillers[k] for k in kept}
    sparse = [k for k in kept if kept[k] < _KERNEL_SIZES[k]]
    assert len(sparse) == 13  # the eight expand3x3, conv10 and four more at 50 %
    fixed = r["fixed"]
    assert fixed["codes"] == sum(-(-e * bits // 8) for e in entries.values())
    assert fixed["indices"] == sum(-(-entries[k] * index_bits // 8) for k in sparse)
    assert fixed["codebook"] == 26 * 4 * 2**bits and fixed["tables"] == 0
    huffman = r["huffman"]
    assert huffman["tables"] == 26 * 2**bits + len(sparse) * 2**index_bits
    assert huffman["codes"] <= fixed["codes"] and huffman["indices"] <= fixed["indices"]
    assert r["huffman_total"] < r["fixed_total"]
    # near the paper's 0.47 MB at 6 bits (Table 2), read as MiB, as lesson 07 asserts
    assert abs(r["fixed_total"] / 2**20 / 0.47 - 1) < 0.05


def test_compression_sizes_grow_with_the_density():
    sizes = [widgets.compression_sizes(d, 6, 4)["fixed_total"] for d in (0.1, 0.3, 0.5)]
    assert sizes == sorted(sizes)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"density": 0}, ValueError, "density"),
        ({"density": 1.5}, ValueError, "density"),
        ({"density": "table2"}, ValueError, "density"),
        ({"density": None}, TypeError, "density"),
        ({"bits": 1}, ValueError, "bits"),
        ({"bits": 9}, ValueError, "bits"),
        ({"bits": 6.0}, TypeError, "bits"),
        ({"index_bits": 0}, ValueError, "index_bits"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_compression_sizes_refuse_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        widgets.compression_sizes(**kwargs)


def test_compression_explorer_updates_its_numbers():
    explorer = widgets.compression_explorer(seed=0)
    assert repr(explorer) == "<Deep Compression explorer: density=table1, bits=6, index_bits=4>"
    text = explorer.result.value
    # SqueezeNet's Table 2: 4.8 MB at 32 bit, 0.66 MB at 8 bit and 0.47 MB at 6 bit
    assert "4.8 MB &rarr; 0.66 MB (" in text and "0.47 MB (" in text and "<svg" in text
    assert f"({4.8 / 0.47:.1f}x)" in text and f"({4.8 / 0.66:.1f}x)" in text
    kept = 421_098 - 77_581 + 82_005 - 3_976  # kernel weights kept (Table 1, fire8 mended)
    assert f"float32: {4 * 1_248_424:,}" in text and f"{kept:,} of {1_248_424 - 3_976:,}" in text
    explorer.controls["density"].value = 1.0
    explorer.controls["bits"].value = 4
    codes = sum(-(-n * 4 // 8) for n in _KERNEL_SIZES.values())
    codebooks = 26 * 4 * 2**4
    total = codes + codebooks + 4 * 3_976
    text = explorer.result.value
    assert f"{codes:,}" in text and f"{codebooks:,}" in text and f"<b>{total:,}</b>" in text
    assert f"{4 * 1_248_424 / total:.1f}x smaller" in text
    explorer.controls["bits"].value = 8
    assert f"{26 * 4 * 2**8:,}" in explorer.result.value


def test_compression_explorer_survives_every_extreme_setting():
    explorer = widgets.compression_explorer()
    densities = [explorer.controls["density"].options[i][1] for i in (0, 1, -1)]
    for density, bits, index_bits in itertools.product(densities, (2, 8), (1, 8)):
        explorer.controls["density"].value = density
        explorer.controls["bits"].value = bits
        explorer.controls["index_bits"].value = index_bits
        assert "total" in explorer.result.value
