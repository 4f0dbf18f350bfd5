"""Designs as rows: the pure counts equal the profile of the Keras model they build."""

import keras
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobilecourse import deploy, design, models, widgets
from mobilecourse.design import DesignRow
from mobilecourse.profile import profile_model


def _profiled(model):
    profile = profile_model(model)
    return profile.macs, model.count_params(), profile.peak_activation_bytes(32)


def _counted(net):
    return net.macs, net.params, net.peak_activation_bytes(32)


@pytest.mark.parametrize(
    "start, factory",
    [
        ("digits_cnn 1.0x (lesson 08)", lambda: models.digits_cnn(width=1.0)),
        ("MobileNet v1 1.0-224", models.mobilenet_v1),
        ("MobileNetV2 1.0-224", models.mobilenet_v2),
    ],
)
def test_every_start_counts_as_the_course_model(start, factory):
    shape, classes, rows = design.STARTS[start]
    keras.utils.clear_session()
    assert _counted(design.design_costs(rows, shape, classes)) == _profiled(factory())


def test_published_totals_of_the_starts():
    def costs_of(start):
        shape, classes, rows = design.STARTS[start]
        return design.design_costs(rows, shape, classes)

    v1 = costs_of("MobileNet v1 1.0-224")
    assert v1.macs == 568_740_352  # MobileNet Table 6: 569M
    v2 = costs_of("MobileNetV2 1.0-224")
    assert v2.macs == 300_774_272  # MobileNetV2 Table 4: 300M
    # MobileNetV2's peak: the first bottleneck, 112x112x32 in and 112x112x16 out, 16 bits
    assert v2.peak_activation_bytes(16) == (112 * 112 * 32 + 112 * 112 * 16) * 2


def test_rows_follow_the_papers_formulas():
    rows = [
        DesignRow("conv", 32, kernel_size=3, groups=2),  # 14x14x16 -> 14x14x32
        DesignRow("maxpool", kernel_size=3, strides=2),  # -> 7x7x32
        DesignRow("bottleneck", 32, expansion=4),  # 7x7x32 -> 7x7x32, residual
        DesignRow("separable", 48, strides=2),  # -> 4x4x48
    ]
    net = design.design_costs(rows, (14, 14, 16), classes=5)
    conv, pool, neck, sep, head = net.layers
    assert (conv.macs, conv.params) == (14 * 14 * 9 * 8 * 32, 9 * 8 * 32 + 4 * 32)
    assert (pool.output_shape, pool.macs, pool.params) == ((7, 7, 32), 0, 0)
    t = 32 * 4
    assert neck.macs == 49 * 32 * t + 49 * 9 * t + 49 * t * 32
    assert neck.params == 32 * t + 4 * t + 9 * t + 4 * t + t * 32 + 4 * 32
    assert neck.peak == 2 * 49 * 32  # the block counts as one operation
    assert sep.macs == 16 * 9 * 32 + 16 * 32 * 48 and sep.output_shape == (4, 4, 48)
    assert sep.peak == max(49 * 32 + 16 * 32, 16 * 32 + 16 * 48)
    assert (head.macs, head.params) == (48 * 5, 48 * 5 + 5)
    # deployed: BatchNorm folded, one bias per channel instead of four numbers
    assert conv.stored == 9 * 8 * 32 + 32
    assert net.size_bytes(8) == net.stored and net.size_bytes(32) == 4 * net.stored
    assert net.size_bytes(16) == 2 * net.stored
    keras.utils.clear_session()
    assert _counted(net) == _profiled(design.build(rows, (14, 14, 16), 5))


def test_invalid_rows_are_reported_in_words_and_skipped():
    rows = [
        DesignRow("conv", 16, strides=2),
        DesignRow("conv", 30, groups=4),  # 4 divides 16 but not 30
        DesignRow("maxpool", kernel_size=1, strides=2),
        DesignRow("pool", 8),
        DesignRow("separable", 24, strides=3),
        "conv 8",
        DesignRow("bottleneck", 24, kernel_size=5, groups=2),
        DesignRow("separable", 24, expansion=6),
        DesignRow("separable", 24),
    ]
    net = design.design_costs(rows, (28, 28, 1))
    assert not net.valid
    assert net.errors == [
        "row 2 (conv): groups=4 does not divide filters=30",
        "row 3 (maxpool): a max-pool's kernel_size must be at least its strides=2",
        "row 4 (pool): kind must be one of ('conv', 'separable', 'bottleneck', 'maxpool'), "
        "got 'pool'",
        "row 5 (separable): strides must be one of (1, 2), got 3",
        "row 6 (?): a row must be a DesignRow, got str",
        "row 7 (bottleneck): groups=2: only a conv row is grouped (set groups to 1)",
        "row 8 (separable): expansion=6: only a bottleneck expands (set expansion to 1)",
    ]
    # the last row is counted on the first row's output, 14x14x16
    assert net.layers[-2].macs == 14 * 14 * 9 * 16 + 14 * 14 * 16 * 24
    assert sum(layer.macs for layer in net.layers[1:8]) == 0
    with pytest.raises(ValueError, match=r"cannot be built: row 2 \(conv\): groups=4"):
        design.build([r for r in rows if isinstance(r, DesignRow)], (28, 28, 1))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: design.design_costs(DesignRow("conv"), (28, 28, 1)), TypeError, "rows must be"),
        (lambda: design.design_costs([], (28, 28)), ValueError, "input_shape must be"),
        (lambda: design.design_costs([], (28, 0, 1)), ValueError, "input_shape must be"),
        (lambda: design.design_costs([], (28, 28, 1), classes=0), ValueError, "classes"),
        (lambda: design.build([], (28, 28, 1)), ValueError, "rows must not be empty"),
        (lambda: design.build(["conv"], (28, 28, 1)), TypeError, "rows must be a tuple of"),
        (lambda: design.design_costs([DesignRow("conv", 2.5)]).errors, None, None),
    ],
)
def test_bad_arguments(call, error, match):
    if error is None:  # a float filter count is a row error, not an exception
        assert call() == ["row 1 (conv): filters must be a positive integer, got 2.5 (float)"]
        return
    with pytest.raises(error, match=match):
        call()


def test_rows_source_rebuilds_the_design():
    shape, classes, rows = design.STARTS["MobileNetV2 1.0-224"]
    source = design.rows_source(rows, shape, classes)
    assert "DesignRow('bottleneck', 24, strides=2, expansion=6)," in source
    namespace = {"DesignRow": DesignRow, "design": design}
    exec(source.replace("model = ", "built = lambda: "), namespace)  # do not build it here
    assert namespace["rows"] == list(rows)


_ROW = st.one_of(
    st.builds(DesignRow, st.just("conv"), st.sampled_from([8, 12, 16]),
              st.sampled_from([1, 3, 5]), st.sampled_from([1, 2]), st.just(1),
              st.sampled_from([1, 2, 4])),
    st.builds(DesignRow, st.just("separable"), st.sampled_from([8, 16, 24]),
              strides=st.sampled_from([1, 2])),
    st.builds(DesignRow, st.just("bottleneck"), st.sampled_from([8, 16]),
              strides=st.sampled_from([1, 2]), expansion=st.sampled_from([1, 2, 6])),
    st.builds(DesignRow, st.just("maxpool"), kernel_size=st.sampled_from([2, 3]),
              strides=st.sampled_from([1, 2])),
)  # fmt: skip


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_ROW, min_size=1, max_size=4), size=st.sampled_from([9, 16, 28]))
def test_counts_equal_the_built_models_profile(rows, size):
    net = design.design_costs(rows, (size, size, 8), classes=10)
    if not net.valid:  # e.g. groups that do not divide: the builder refuses too
        with pytest.raises(ValueError, match="cannot be built"):
            design.build(rows, (size, size, 8))
        return
    keras.utils.clear_session()
    assert _counted(net) == _profiled(design.build(rows, (size, size, 8)))


# ---------------------------------------------------------------- the widget


def test_designer_shows_the_start_and_follows_edits():
    designer = widgets.network_designer()
    assert designer.budget is deploy.CAPSTONE_BUDGET  # lesson 08's brief by default
    keras.utils.clear_session()
    macs, params, _ = _profiled(models.digits_cnn(width=1.0))
    assert f"{macs:,}" in designer.result.value and f"{params:,}" in designer.result.value
    assert "✗ over 300,000" in designer.result.value  # lesson 08's student is over the MACs
    assert repr(designer) == "<Network designer: start=digits_cnn 1.0x (lesson 08), rows=4>"

    designer.add_row()  # a stride-1 copy of the last row: 4x4x128 -> 4x4x128
    assert len(designer.rows_box.children) == 5
    added = 16 * 9 * 128 + 16 * 128 * 128
    assert f"{macs + added:,}" in designer.result.value
    assert f"<td style='padding:2px 10px'>{added:,}</td>" in designer.details.value  # row 5
    assert "DesignRow(&#x27;separable&#x27;, 128)," in designer.details.value  # as code
    designer.remove_row(designer.row_controls[-1])
    assert f"{macs:,}" in designer.result.value and len(designer.rows_box.children) == 4

    designer.row_controls[1].groups.value = 3
    assert "⚠" in designer.result.value and "only a conv row is grouped" in designer.result.value
    designer.row_controls[1].kind.value = "conv"  # 3 divides neither 16 nor 32
    assert "groups=3 does not divide 16 input channels" in designer.result.value
    assert designer.export() is None and "Fix the invalid rows" in designer.exported.value
    designer.row_controls[1].groups.value = 2
    designer.row_controls[0].filters.value = 8
    designer.row_controls[2].filters.value = 32
    designer.row_controls[3].filters.value = 64
    designer.controls["input_size"].value = 20
    net = designer.design()
    assert net.input_shape == (20, 20, 1) and net.valid
    model = designer.export()
    assert (
        model.count_params() == net.params and "the design's numbers ✓" in designer.exported.value
    )
    assert model.input_shape == (None, 20, 20, 1)

    for _ in range(4):  # every row removed: the head alone, on the 20x20x1 input
        designer.remove_row(0)
    assert ">20 FLOPs<" in designer.result.value  # 1 channel x 10 classes = 10 MACs
    assert designer.export() is None and "Add a row first" in designer.exported.value
    designer.add_row()
    assert designer.rows() == [DesignRow("separable", 32)]


def test_designer_loads_every_start():
    designer = widgets.network_designer(budget=None)
    designer.controls["start"].value = "MobileNet v1 1.0-224"
    assert "568,740,352" in designer.result.value and len(designer.row_controls) == 14
    assert designer.controls["input_size"].value == 224
    designer.controls["start"].value = "MobileNetV2 1.0-224"
    assert "300,774,272" in designer.result.value and len(designer.row_controls) == 19
    assert "Against the budget" not in designer.result.value  # no budget given


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"start": "ResNet-50"}, ValueError, "start must be one of"),
        ({"budget": {"max_macs": 1}}, TypeError, "budget must be a deploy.Budget"),
    ],
)
def test_designer_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        widgets.network_designer(**kwargs)
