"""The block checker (checks/_blocks.py): each classic mistake of a Keras builder is named.

The wrong builders below are written layer by layer with plain Keras layers and names
of their own, so a pass or a diagnosis never depends on matching the reference's names.
"""

import re

import keras
import pytest
from keras import layers

from mobilecourse import blocks
from mobilecourse.checks import CheckFailed, Mistake
from mobilecourse.checks._blocks import check_block


def separable_reference(x, filters, strides):
    return blocks.depthwise_separable_block(x, filters=filters, strides=strides, name="ref")


SEPARABLE_CASES = [
    ((16, 16, 8), {"filters": 16, "strides": 1}),
    ((16, 16, 8), {"filters": 8, "strides": 2}),
]


def separable(
    x,
    filters,
    strides,
    *,
    dw_bn=True,
    dw_relu=True,
    dw_stride=True,
    pw_filters=None,
    residual=False,
    fused=False,
    tag="mine",
):
    """MobileNet's block by hand; each switch makes one classic mistake."""
    y = layers.DepthwiseConv2D(
        3,
        strides=strides if dw_stride else 1,
        padding="same",
        use_bias=False,
        name=f"{tag}_a",
    )(x)
    if dw_bn:
        y = layers.BatchNormalization(name=f"{tag}_b")(y)
    if dw_relu:
        y = (
            layers.Activation("relu", name=f"{tag}_c")(y)
            if fused
            else layers.ReLU(name=f"{tag}_c")(y)
        )
    y = layers.Conv2D(
        pw_filters or filters,
        1,
        strides=1 if dw_stride else strides,
        use_bias=False,
        name=f"{tag}_d",
    )(y)
    y = layers.BatchNormalization(name=f"{tag}_e")(y)
    y = layers.ReLU(name=f"{tag}_f")(y)
    if residual:
        y = layers.Add(name=f"{tag}_g")([x, y])
    return y


def check_separable(fn, mistakes=()):
    check_block("separable block", fn, SEPARABLE_CASES, separable_reference, mistakes)


def failure(fn, mistakes=()):
    with pytest.raises(CheckFailed) as info:
        check_separable(fn, mistakes)
    return str(info.value)


def test_a_correct_builder_passes_whatever_its_names(capsys):
    check_separable(separable)
    check_separable(lambda x, filters, strides: separable(x, filters, strides, tag="other"))
    check_separable(lambda x, filters, strides: separable(x, filters, strides, fused=True))
    out = capsys.readouterr().out
    assert out.count("Correct: separable block (2 cases checked).") == 3


def test_fused_activation_counts_as_a_relu_layer(capsys):
    def fused(x, filters, strides):
        y = layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False)(x)
        y = layers.BatchNormalization()(y)
        y = keras.activations.relu(y)  # an operation, not a layer
        y = layers.Conv2D(filters, 1, use_bias=False)(y)
        return layers.Activation("relu")(layers.BatchNormalization()(y))

    check_separable(fused)
    assert capsys.readouterr().out.startswith("Correct:")


@pytest.mark.parametrize(
    ("switches", "named"),
    [
        ({"dw_bn": False}, "Missing BatchNorm"),
        ({"dw_relu": False}, "Missing activation"),
        ({"dw_stride": False}, "Wrong stride placement"),
        ({"pw_filters": 24}, "Wrong channel count"),
    ],
)
def test_each_classic_mistake_is_named(switches, named):
    message = failure(lambda x, filters, strides: separable(x, filters, strides, **switches))
    assert f": {named}:" in message
    assert "`mine_" in message  # the student's own layer is named


def test_extra_residual_add_is_named():
    cases = [((16, 16, 8), {"filters": 8, "strides": 1})]
    with pytest.raises(CheckFailed) as info:
        check_block(
            "separable block",
            lambda x, filters, strides: separable(x, filters, strides, residual=True),
            cases,
            separable_reference,
        )
    assert "Extra residual add" in str(info.value) and "`mine_g`" in str(info.value)


def inverted_reference(x, expansion, filters):
    return blocks.inverted_residual_block(x, expansion=expansion, filters=filters, name="ref")


def inverted(x, expansion, filters, *, add=True, linear=True, project_bn=True):
    c = x.shape[-1]
    y = layers.ReLU(6.0)(
        layers.BatchNormalization()(layers.Conv2D(c * expansion, 1, use_bias=False)(x))
    )
    y = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(y)
    y = layers.Activation("relu6")(layers.BatchNormalization()(y))
    y = layers.Conv2D(filters, 1, use_bias=False, name="project_here")(y)
    if project_bn:
        y = layers.BatchNormalization()(y)
    if not linear:
        y = layers.ReLU(6.0, name="too_many")(y)
    return layers.Add()([x, y]) if add else y


INVERTED_CASES = [((8, 8, 16), {"expansion": 6, "filters": 16})]


@pytest.mark.parametrize(
    ("switches", "named", "layer"),
    [
        ({"add": False}, "Missing residual add", "`too_many`|BatchNormalization"),
        ({"linear": False}, "Activation where none belongs", "`too_many`"),
        ({"project_bn": False}, "Missing BatchNorm", "`project_here`"),
    ],
)
def test_residual_and_linear_bottleneck_mistakes(switches, named, layer):
    with pytest.raises(CheckFailed) as info:
        check_block(
            "inverted residual",
            lambda x, expansion, filters: inverted(x, expansion, filters, **switches),
            INVERTED_CASES,
            inverted_reference,
        )
    assert f": {named}:" in str(info.value)
    assert re.search(layer, str(info.value))


def fire_reference(x, squeeze, expand1x1, expand3x3):
    return blocks.fire_module(
        x, squeeze=squeeze, expand1x1=expand1x1, expand3x3=expand3x3, name="r"
    )


def fire(x, squeeze, expand1x1, expand3x3, *, merge="concat", order=(0, 1), padding="same"):
    s = layers.Conv2D(squeeze, 1, activation="relu")(x)
    e1 = layers.Conv2D(expand1x1, 1, activation="relu")(s)
    e3 = layers.Conv2D(expand3x3, 3, padding=padding, activation="relu")(s)
    branches = [(e1, e3)[i] for i in order]
    return layers.Concatenate()(branches) if merge == "concat" else layers.Add()(branches)


def check_fire(
    fn, cases=(((9, 9, 12), {"squeeze": 4, "expand1x1": 8, "expand3x3": 8}),), mistakes=()
):
    check_block("fire module", fn, list(cases), fire_reference, mistakes)


def test_merges_and_their_order():
    with pytest.raises(CheckFailed, match="Add instead of Concatenate"):
        check_fire(lambda x, **k: fire(x, **k, merge="add"))
    with pytest.raises(CheckFailed, match="Wrong order of concatenation"):
        check_fire(lambda x, **k: fire(x, **k, order=(1, 0)))


def test_a_build_error_is_reported_with_a_merge_hint():
    with pytest.raises(CheckFailed) as info:
        check_fire(lambda x, **k: fire(x, **k, padding="valid"))
    message = str(info.value)
    assert "raised ValueError" in message and "padding='same'" in message


def test_a_lesson_mistake_gives_its_hint_for_a_graph_and_for_an_error():
    hint_add = "HINT: concatenate the expand branches."
    hint_pad = "HINT: pad the 3x3."
    mistakes = [
        Mistake(hint_add, lambda x, **k: fire(x, **k, merge="add")),
        Mistake(hint_pad, lambda x, **k: fire(x, **k, padding="valid")),
    ]
    with pytest.raises(CheckFailed, match=re.escape(hint_add)):
        check_fire(lambda x, **k: fire(x, **k, merge="add"), mistakes=mistakes)
    with pytest.raises(CheckFailed, match=re.escape(hint_pad)):
        check_fire(lambda x, **k: fire(x, **k, padding="valid"), mistakes=mistakes)
    # a different wrong block gets neither hint
    with pytest.raises(CheckFailed) as info:
        check_fire(lambda x, **k: fire(x, **k, order=(1, 0)), mistakes=mistakes)
    assert "HINT" not in str(info.value)


def shuffle_reference(x, out_channels, groups):
    return blocks.shufflenet_unit(x, out_channels=out_channels, groups=groups, name="ref")


def shuffle_unit(x, out_channels, groups, *, shuffle_after="relu"):
    m = out_channels // 4
    y = layers.Conv2D(m, 1, groups=groups, use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    if shuffle_after == "relu":
        y = blocks.ChannelShuffle(groups)(y)
    y = layers.BatchNormalization()(layers.DepthwiseConv2D(3, padding="same", use_bias=False)(y))
    if shuffle_after == "dw":
        y = blocks.ChannelShuffle(groups)(y)
    y = layers.BatchNormalization()(
        layers.Conv2D(out_channels, 1, groups=groups, use_bias=False)(y)
    )
    return layers.ReLU()(layers.Add()([x, y]))


def test_a_layer_in_the_wrong_place_and_a_missing_one():
    cases = [((8, 8, 48), {"out_channels": 48, "groups": 3})]
    check_block("unit", shuffle_unit, cases, shuffle_reference)  # the right one passes
    with pytest.raises(CheckFailed, match="ChannelShuffle in the wrong place"):
        check_block(
            "unit",
            lambda x, **k: shuffle_unit(x, **k, shuffle_after="dw"),
            cases,
            shuffle_reference,
        )
    with pytest.raises(CheckFailed, match="Missing ChannelShuffle"):
        check_block(
            "unit",
            lambda x, **k: shuffle_unit(x, **k, shuffle_after=None),
            cases,
            shuffle_reference,
        )


def test_not_attempted_none_and_foreign_outputs(capsys):
    def stub(x, filters, strides):
        raise NotImplementedError

    check_separable(stub)
    assert "not attempted yet" in capsys.readouterr().out
    assert "Did you forget `return`" in failure(lambda x, filters, strides: None)
    assert "not the block's output tensor" in failure(lambda x, filters, strides: [x])
    own_input = lambda x, filters, strides: layers.ReLU()(keras.Input(x.shape[1:]))  # noqa: E731
    assert "not computed from the input" in failure(own_input)


def test_bad_arguments():
    with pytest.raises(TypeError, match="fn must be"):
        check_block("x", "not a function", SEPARABLE_CASES, separable_reference)
    with pytest.raises(ValueError, match="cases"):
        check_block("x", separable, [], separable_reference)
