"""Block diagrams read from built models: their structure, their layout, their errors.

Expected labels, channels and edges are worked out by hand from the papers' block
definitions (ShuffleNet Fig. 2, MobileNet Fig. 3, MobileNetV2 Table 1, SqueezeNet
Table 1), not read from the code under test. Nothing here compares pixels.
"""

import itertools

import keras
import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from mobilecourse import blocks, diagrams, models  # noqa: E402
from mobilecourse.diagrams import Box, Diagram  # noqa: E402


def one_block(input_shape, build, name="block"):
    keras.utils.clear_session()
    x = keras.Input(input_shape, name="input")
    return keras.Model(x, build(x), name=name)


def fire_group(name):
    """SqueezeNet's fire modules as one box each; a bypass stays its own box."""
    return name.split("_")[0] if name.startswith("fire") and "bypass" not in name else None


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def shuffle_s2():
    # 240 -> 480 channels at stride 2: bottleneck 480 / 4 = 120, branch 480 - 240 = 240
    return one_block(
        (28, 28, 240),
        lambda x: blocks.shufflenet_unit(x, out_channels=480, groups=3, strides=2, name="u"),
    )


@pytest.fixture(scope="module")
def shuffle_s1():
    # 240 -> 240 at stride 1: bottleneck 60
    return one_block(
        (28, 28, 240),
        lambda x: blocks.shufflenet_unit(x, out_channels=240, groups=3, strides=1, name="u"),
    )


def v2_block(strides, filters=24):
    # 24 channels, t = 6: 144 wide
    return one_block(
        (56, 56, 24),
        lambda x: blocks.inverted_residual_block(
            x, expansion=6, filters=filters, strides=strides, name="b"
        ),
    )


def squeezenet_with_bypass(kind):
    """SqueezeNet v1.0 with the paper's bypasses (Iandola et al. 2016, Fig. 2)."""
    keras.utils.clear_session()
    inputs = keras.Input((227, 227, 3), name="input")
    x = keras.layers.Conv2D(96, 7, strides=2, activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for i, row in enumerate(models.SQUEEZENET_V1_0):
        y = blocks.fire_module(
            x, squeeze=row.squeeze, expand1x1=row.expand1x1, expand3x3=row.expand3x3, name=row.name
        )
        if i % 2 == 1:  # fire3, 5, 7, 9: channels in = channels out
            x = keras.layers.Add(name=f"{row.name}_bypass")([x, y])
        elif kind == "complex":  # fire2, 4, 6, 8: a 1x1 convolution on the bypass
            short = keras.layers.Conv2D(int(y.shape[-1]), 1, name=f"{row.name}_bypass_conv")(x)
            x = keras.layers.Add(name=f"{row.name}_bypass")([short, y])
        else:
            x = y
        if row.pool_after:
            x = keras.layers.MaxPooling2D(3, strides=2, name=f"pool{row.name[-1]}")(x)
    x = keras.layers.Conv2D(1000, 1, activation="relu", name="conv10")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool10")(x)
    return keras.Model(inputs, x, name=f"squeezenet_{kind}_bypass")


# ---------------------------------------------------------------- structure


def test_shufflenet_stride2_concatenates_an_avgpool_and_a_bn_branch(shuffle_s2):
    d = diagrams.diagram_of(shuffle_s2)
    (concat,) = d.find("Concat")
    first, second = d.inputs_of(concat)
    assert first.label == "3×3 AvgPool s2" and first.kind == "pool"
    assert second.label == "BN" and second.layers == ("u_gconv2_bn",)
    assert d.inputs_of(first)[0].kind == "input"
    assert concat.shape == (14, 14, 480)
    labels = d.labels()
    assert "1×1 GConv g=3, 120" in labels and "1×1 GConv g=3, 240" in labels
    assert "3×3 DWConv s2" in labels and "Channel shuffle" in labels
    # no ReLU between the depthwise convolution and the second group convolution
    (dw,) = d.find("DWConv")
    (dw_bn,) = d.outputs_of(dw)
    assert dw_bn.label == "BN" and d.outputs_of(dw_bn)[0].label == "1×1 GConv g=3, 240"
    # the unit ends with Concat -> ReLU
    assert [b.label for b in d.outputs_of(concat)] == ["ReLU"]


def test_shufflenet_stride1_adds_its_input_after_the_shuffle_chain(shuffle_s1):
    d = diagrams.diagram_of(shuffle_s1)
    (add,) = d.find("Add")
    assert [b.kind for b in d.inputs_of(add)] == ["input", "norm"]
    chain = [d.boxes[0]]  # follow the branch from the input until it reaches the Add
    while add not in d.outputs_of(chain[-1]) or len(chain) == 1:
        (step,) = [b for b in d.outputs_of(chain[-1]) if b != add]
        chain.append(step)
    assert [b.label for b in chain[1:]] == [
        "1×1 GConv g=3, 60",
        "BN",
        "ReLU",
        "Channel shuffle",
        "3×3 DWConv",
        "BN",
        "1×1 GConv g=3, 240",
        "BN",
    ]
    assert not d.find("AvgPool") and not d.find("Concat")


def test_collapse_folds_bn_and_activation_into_the_box_before(shuffle_s1, shuffle_s2):
    d = diagrams.diagram_of(shuffle_s1, collapse=True)
    assert d.labels() == [
        "Input",
        "1×1 GConv g=3, 60 + BN + ReLU",
        "Channel shuffle",
        "3×3 DWConv + BN",
        "1×1 GConv g=3, 240 + BN",
        "Add + ReLU",
    ]
    assert d.box_of("u_gconv1_relu") is d.box_of("u_gconv1")
    d2 = diagrams.diagram_of(shuffle_s2, collapse=True)
    (concat,) = d2.find("Concat")
    assert concat.label == "Concat + ReLU" and concat.shape == (14, 14, 480)
    assert [b.label for b in d2.inputs_of(concat)] == ["3×3 AvgPool s2", "1×1 GConv g=3, 240 + BN"]


def test_a_bn_read_twice_is_not_folded():
    keras.utils.clear_session()
    x = keras.Input((8, 8, 4), name="input")
    y = keras.layers.Conv2D(4, 3, padding="same", name="c")(x)
    bn = keras.layers.BatchNormalization(name="bn")(y)
    # the convolution's output is read by the BN and by the Add: the BN stays a box
    out = keras.layers.Add(name="add")([y, bn])
    d = diagrams.diagram_of(keras.Model(x, out), collapse=True)
    assert d.labels() == ["Input", "3×3 Conv, 4", "BN", "Add"]


@pytest.mark.parametrize("filters", [24, 32])
def test_v2_block_stride1_adds_only_when_channels_match(filters):
    d = diagrams.diagram_of(v2_block(1, filters))
    assert d.labels()[1:4] == ["1×1 Conv, 144", "BN", "ReLU6"]
    assert "3×3 DWConv" in d.labels() and d.labels().count("ReLU6") == 2
    (project,) = d.find(f"1×1 Conv, {filters}")
    (project_bn,) = d.outputs_of(project)
    adds = d.find("Add")
    if filters == 24:
        (add,) = adds
        # the linear bottleneck: the projection's BN goes straight into the Add
        assert d.outputs_of(project_bn) == [add]
        assert [b.kind for b in d.inputs_of(add)] == ["input", "norm"]
    else:
        assert adds == [] and d.outputs_of(project_bn) == []


def test_v2_block_stride2_has_a_strided_depthwise_and_no_add():
    d = diagrams.diagram_of(v2_block(2), collapse=True)
    assert d.labels() == [
        "Input",
        "1×1 Conv, 144 + BN + ReLU6",
        "3×3 DWConv s2 + BN + ReLU6",
        "1×1 Conv, 24 + BN",
    ]
    assert [b.shape for b in d.boxes] == [(56, 56, 24), (56, 56, 144), (28, 28, 144), (28, 28, 24)]


def test_mobilenet_fig3_layer_stacks():
    keras.utils.clear_session()
    x = keras.Input((56, 56, 64), name="input")
    standard = keras.Model(x, blocks.conv_bn_relu(x, filters=128, name="conv"))
    separable = keras.Model(x, blocks.depthwise_separable_block(x, filters=128, name="sep"))
    s, p = diagrams.diagram_of(standard), diagrams.diagram_of(separable)
    assert s.labels() == ["Input", "3×3 Conv, 128", "BN", "ReLU"]
    assert p.labels() == ["Input", "3×3 DWConv", "BN", "ReLU", "1×1 Conv, 128", "BN", "ReLU"]
    assert p.kinds() == ["input", "depthwise", "norm", "activation", "conv", "norm", "activation"]
    assert p.edges == tuple((i, i + 1) for i in range(6))  # a plain chain
    assert p.boxes[3].shape == (56, 56, 64) and p.boxes[-1].shape == (56, 56, 128)
    compact = diagrams.diagram_of(separable, collapse=True)
    assert compact.labels() == ["Input", "3×3 DWConv + BN + ReLU", "1×1 Conv, 128 + BN + ReLU"]


def test_fire_module_branches_and_concatenates_in_order():
    m = one_block(
        (55, 55, 96),
        lambda x: blocks.fire_module(x, squeeze=16, expand1x1=64, expand3x3=64, name="fire2"),
    )
    d = diagrams.diagram_of(m)
    (relu,) = d.outputs_of(d.find("1×1 Conv, 16")[0])
    assert [b.label for b in d.outputs_of(relu)] == ["1×1 Conv, 64", "3×3 Conv, 64"]
    (concat,) = d.find("Concat")
    assert [b.layers[0] for b in d.inputs_of(concat)] == [
        "fire2_expand1x1_relu",
        "fire2_expand3x3_relu",
    ]
    assert concat.shape == (55, 55, 128)


def test_squeezenet_grouped_into_fire_modules():
    keras.utils.clear_session()
    d = diagrams.diagram_of(models.squeezenet(), collapse=True, group=fire_group)
    # Iandola et al. 2016, Table 1 (input 227): conv1 111x111x96, pools 3x3/2
    assert d.labels() == [
        "Input",
        "7×7 Conv s2, 96 + ReLU",
        "3×3 MaxPool s2",
        "fire2",
        "fire3",
        "fire4",
        "3×3 MaxPool s2",
        "fire5",
        "fire6",
        "fire7",
        "fire8",
        "3×3 MaxPool s2",
        "fire9",
        "Dropout 0.5",
        "1×1 Conv, 1000 + ReLU",
        "Global AvgPool + Softmax",
    ]
    widths = {b.label: b.shape for b in d.boxes if b.kind == "block"}
    assert widths["fire2"] == (55, 55, 128) and widths["fire4"] == (55, 55, 256)
    assert widths["fire8"] == (27, 27, 512) and widths["fire9"] == (13, 13, 512)
    assert len(d.box_of("fire2_concat").layers) == 7  # squeeze, 2 expands, 3 ReLUs, concat


@pytest.mark.parametrize("kind", ["simple", "complex"])
def test_squeezenet_bypasses(kind):
    d = diagrams.diagram_of(squeezenet_with_bypass(kind), collapse=True, group=fire_group)
    adds = d.find("Add")
    assert [b.layers[0] for b in adds][:2] == (
        ["fire3_bypass", "fire5_bypass"] if kind == "simple" else ["fire2_bypass", "fire3_bypass"]
    )
    assert len(adds) == (4 if kind == "simple" else 8)
    fire3_add = d.box_of("fire3_bypass")
    # the bypass around fire3 reads fire2's output (after its own bypass) and fire3's
    assert [b.label for b in d.inputs_of(fire3_add)] == [
        "fire2" if kind == "simple" else "Add",
        "fire3",
    ]
    convs = d.find("Conv, ")
    bypass_convs = [b for b in convs if "bypass" in b.layers[0]]
    if kind == "simple":
        assert bypass_convs == []
    else:
        # fire4's bypass: fire3's 128 channels -> 256 with a 1x1 convolution
        fire4_add = d.box_of("fire4_bypass")
        assert [b.label for b in d.inputs_of(fire4_add)] == ["1×1 Conv, 256", "fire4"]
        assert len(bypass_convs) == 4


def test_nested_models_are_flattened():
    keras.utils.clear_session()
    inner_in = keras.Input((8, 8, 4))
    inner = keras.Model(inner_in, keras.layers.ReLU(name="r")(inner_in), name="inner")
    x = keras.Input((8, 8, 4), name="input")
    outer = keras.Model(x, inner(keras.layers.Conv2D(4, 1, name="c")(x)), name="outer")
    assert diagrams.diagram_of(outer).labels() == ["Input", "1×1 Conv, 4", "ReLU"]
    assert diagrams.diagram_of(outer).boxes[-1].layers == ("inner/r",)


@pytest.mark.parametrize(
    ("layer", "kind", "label"),
    [
        (keras.layers.Conv2D(32, 3, strides=2), "conv", "3×3 Conv s2, 32"),
        (keras.layers.Conv2D(8, (1, 7)), "conv", "1×7 Conv, 8"),
        (keras.layers.Conv2D(96, 7, activation="relu"), "conv", "7×7 Conv, 96 + ReLU"),
        (keras.layers.Conv2D(240, 1, groups=3), "group_conv", "1×1 GConv g=3, 240"),
        (keras.layers.DepthwiseConv2D(5, strides=2), "depthwise", "5×5 DWConv s2"),
        (keras.layers.SeparableConv2D(64, 3), "separable", "3×3 SepConv, 64"),
        (keras.layers.Dense(10, activation="softmax"), "dense", "FC, 10 + Softmax"),
        (keras.layers.ReLU(6.0), "activation", "ReLU6"),
        (keras.layers.Activation("hard_swish"), "activation", "h-swish"),
        (keras.layers.AveragePooling2D(3, strides=2), "pool", "3×3 AvgPool s2"),
        (keras.layers.MaxPooling2D(2), "pool", "2×2 MaxPool s2"),
        (blocks.ChannelShuffle(3), "shuffle", "Channel shuffle"),
        (keras.layers.Concatenate(), "merge", "Concat"),
        (keras.layers.Dropout(0.2), "other", "Dropout 0.2"),
    ],
)
def test_layer_labels(layer, kind, label):
    assert diagrams.layer_label(layer) == (kind, label)


def test_shape_text():
    assert diagrams.shape_text((28, 28, 240)) == "28×28×240"
    assert diagrams.shape_text((1000,)) == "1000"


# ---------------------------------------------------------------- layout


def overlap(a, b):
    (xa, ya), (wa, ha) = a
    (xb, yb), (wb, hb) = b
    return abs(xa - xb) < (wa + wb) / 2 and abs(ya - yb) < (ha + hb) / 2


def segment_hits_box(p, q, centre, size):
    """Whether the segment p-q passes through the inside of a box (sampled densely)."""
    (x, y), (w, h) = centre, size
    for k in range(1, 200):
        t = k / 200
        px, py = p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t
        if abs(px - x) < w / 2 - 1e-9 and abs(py - y) < h / 2 - 1e-9:
            return True
    return False


def layouts():
    cases = {"shuffle s1": None, "shuffle s2": None}
    keras.utils.clear_session()
    for strides, out in ((1, 240), (2, 480)):
        m = one_block(
            (28, 28, 240),
            lambda x, s=strides, o=out: blocks.shufflenet_unit(
                x, out_channels=o, groups=3, strides=s, name="u"
            ),
        )
        for collapse in (False, True):
            cases[f"shuffle s{strides} {collapse}"] = diagrams.diagram_of(m, collapse=collapse)
    cases["v2 s1"] = diagrams.diagram_of(v2_block(1))
    m = one_block(
        (55, 55, 96),
        lambda x: blocks.fire_module(x, squeeze=16, expand1x1=64, expand3x3=64, name="fire2"),
    )
    cases["fire"] = diagrams.diagram_of(m)
    cases["complex bypass"] = diagrams.diagram_of(
        squeezenet_with_bypass("complex"), collapse=True, group=fire_group
    )
    cases["complex bypass, every layer"] = diagrams.diagram_of(squeezenet_with_bypass("complex"))
    return {k: v for k, v in cases.items() if v is not None}


@pytest.fixture(scope="module")
def laid_out():
    return [(name, d, diagrams.layout(d)) for name, d in layouts().items()]


def test_boxes_do_not_overlap(laid_out):
    for name, d, place in laid_out:
        boxes = list(zip(place.centres, place.sizes, strict=True))
        for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
            assert not overlap(a, b), (name, d.boxes[i].label, d.boxes[j].label)


def test_edges_go_downward_from_source_to_target(laid_out):
    for name, d, place in laid_out:
        assert len(place.routes) == len(d.edges)
        for (s, t), route in zip(d.edges, place.routes, strict=True):
            ys = [y for _, y in route]
            assert all(a >= b for a, b in itertools.pairwise(ys)), (name, s, t)
            (xs_, ys_), (ws, hs) = place.centres[s], place.sizes[s]
            (xt, yt), (wt, ht) = place.centres[t], place.sizes[t]
            assert route[0][1] == pytest.approx(ys_ - hs / 2)  # leaves the source's bottom
            assert route[-1][1] == pytest.approx(yt + ht / 2)  # enters the target's top
            assert abs(route[0][0] - xs_) <= ws / 2 and abs(route[-1][0] - xt) <= wt / 2


def test_edges_pass_beside_the_boxes_they_do_not_join(laid_out):
    for name, d, place in laid_out:
        for (s, t), route in zip(d.edges, place.routes, strict=True):
            for i, (centre, size) in enumerate(zip(place.centres, place.sizes, strict=True)):
                if i in (s, t):
                    continue
                for p, q in itertools.pairwise(route):
                    assert not segment_hits_box(p, q, centre, size), (name, s, t, d.boxes[i].label)


def test_the_shortcut_is_routed_around_the_chain(laid_out):
    d, place = next((d, p) for name, d, p in laid_out if name == "shuffle s1 False")
    (add,) = d.find("Add")
    k = d.edges.index((0, add.index))
    assert len(place.routes[k]) == 4  # out, down beside the chain, back in


def test_layout_of_a_hand_made_diamond():
    # a -> (b, c) -> d: b and c side by side one rank down, d below midway
    boxes = tuple(Box(i, "step", label, None, ()) for i, label in enumerate("abcd"))
    d = Diagram("diamond", boxes, ((0, 1), (0, 2), (1, 3), (2, 3)))
    sizes = [(10.0, 4.0)] * 4
    place = diagrams.layout(d, sizes=sizes, shapes=False)
    (xa, ya), (xb, yb), (xc, yc), (xd, yd) = place.centres
    assert yb == yc < ya and yd < yb
    assert xb < xa < xc and xb + 10 <= xc  # side by side, not overlapping
    assert xd == pytest.approx((xb + xc) / 2) and xa == pytest.approx(xd)
    assert place.sizes == tuple(sizes)


def test_a_shortcut_box_sits_midway_down_its_slack():
    # a -> b -> c -> d -> e and a -> p -> e: p sits halfway, not at the top
    boxes = tuple(Box(i, "step", label, None, ()) for i, label in enumerate("abcdpe"))
    edges = ((0, 1), (1, 2), (2, 3), (3, 5), (0, 4), (4, 5))
    place = diagrams.layout(Diagram("slack", boxes, edges), sizes=[(6.0, 4.0)] * 6)
    ys = [y for _, y in place.centres]
    assert ys[4] == ys[2]  # rank 2 of 0..4, with c


def test_flow_goes_left_to_right():
    fig, d = diagrams.flow_diagram(["design", "train", "prune", "quantize\nint8"])
    assert d.labels() == ["design", "train", "prune", "quantize\nint8"]
    assert d.edges == ((0, 1), (1, 2), (2, 3))
    place = diagrams.layout(d, direction="right", shapes=False)
    xs = [x for x, _ in place.centres]
    assert xs == sorted(xs) and len(set(xs)) == 4
    assert len({y for _, y in place.centres}) == 1
    for route in place.routes:
        assert all(a[0] <= b[0] for a, b in itertools.pairwise(route))
    assert len(fig.axes[0].patches) == 4


# ---------------------------------------------------------------- drawing


def test_block_diagram_draws_every_box_and_label(shuffle_s2):
    fig, d = diagrams.block_diagram(shuffle_s2, collapse=True, title="unit", legend=True)
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.texts]
    assert len(ax.patches) == len(d.boxes)
    assert all(label in texts for label in d.labels())
    assert "14×14×480" in texts and ax.get_title() == "unit"
    assert ax.get_legend() is not None
    fig.canvas.draw()  # renders with Agg


def test_block_diagram_on_given_axes(shuffle_s1):
    fig, ax = plt.subplots()
    got, _ = diagrams.block_diagram(shuffle_s1, ax, shapes=False)
    assert got is fig
    assert not any("×240" in t.get_text() for t in ax.texts)


def test_compare_blocks_one_column_each(shuffle_s1):
    v2 = v2_block(1)
    fig, ds = diagrams.compare_blocks({"ShuffleNet": shuffle_s1, "MobileNetV2": v2})
    assert list(ds) == ["ShuffleNet", "MobileNetV2"]
    assert [ax.get_title() for ax in fig.axes] == ["ShuffleNet", "MobileNetV2"]
    assert ds["MobileNetV2"].find("Add") and ds["ShuffleNet"].find("Add + ReLU")


def test_long_titles_get_room_and_labels_fit_their_boxes(shuffle_s1):
    v2 = v2_block(1)
    titles = ("a title much longer than the diagram under it", "another long title here")
    fig, ds = diagrams.compare_blocks(dict(zip(titles, (shuffle_s1, v2), strict=True)))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes]
    assert boxes[0].x1 <= boxes[1].x0  # the titles do not overlap
    for ax in fig.axes:
        patches = ax.patches
        labels = [t for t in ax.texts if t.get_fontsize() == 8]  # the labels, not the shapes
        for patch, text in zip(patches, labels, strict=True):
            assert text.get_window_extent(renderer).width < patch.get_window_extent(renderer).width


# ---------------------------------------------------------------- errors


def test_bad_arguments_are_named(shuffle_s1):
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        diagrams.diagram_of("shufflenet")
    with pytest.raises(TypeError, match="collapse must be True or False"):
        diagrams.diagram_of(shuffle_s1, collapse=1)
    with pytest.raises(TypeError, match="group must be a function"):
        diagrams.diagram_of(shuffle_s1, group="fire")
    with pytest.raises(TypeError, match="group must return a group name"):
        diagrams.diagram_of(shuffle_s1, group=lambda name: 3)
    with pytest.raises(TypeError, match="diagram must be a Diagram"):
        diagrams.layout(shuffle_s1)
    with pytest.raises(ValueError, match="direction must be one of"):
        diagrams.layout(diagrams.diagram_of(shuffle_s1), direction="up")
    with pytest.raises(ValueError, match="sizes must give one"):
        diagrams.layout(diagrams.diagram_of(shuffle_s1), sizes=[(1, 1)])
    with pytest.raises(TypeError, match="ax must be matplotlib Axes"):
        diagrams.block_diagram(shuffle_s1, "axes")
    with pytest.raises(TypeError, match="title must be a string"):
        diagrams.block_diagram(shuffle_s1, title=3)
    with pytest.raises(ValueError, match="fontsize must be a positive number"):
        diagrams.block_diagram(shuffle_s1, fontsize=0)
    with pytest.raises(TypeError, match="models must be a mapping"):
        diagrams.compare_blocks([shuffle_s1])
    with pytest.raises(ValueError, match="at least one"):
        diagrams.compare_blocks({})
    with pytest.raises(TypeError, match=r"models\['x'\] must be a keras.Model"):
        diagrams.compare_blocks({"x": "model"})
    with pytest.raises(TypeError, match="steps must be a list of strings"):
        diagrams.flow_diagram("train, prune")
    with pytest.raises(ValueError, match="at least one step"):
        diagrams.flow_diagram([])
    with pytest.raises(ValueError, match="non-empty labels"):
        diagrams.flow_diagram(["train", " "])


def test_a_backward_edge_is_refused():
    boxes = tuple(Box(i, "step", s, None, ()) for i, s in enumerate("ab"))
    with pytest.raises(ValueError, match=r"edge \(1, 0\) must go from a box to a later box"):
        diagrams.layout(Diagram("bad", boxes, ((1, 0),)))


def test_an_unbuilt_or_subclassed_model_is_refused():
    with pytest.raises(ValueError, match="not built"):
        diagrams.diagram_of(keras.Sequential([keras.layers.Dense(2)]))

    class Sub(keras.Model):
        def call(self, x):
            return x

    sub = Sub()
    sub.build((None, 3))
    with pytest.raises(ValueError, match="subclassed"):
        diagrams.diagram_of(sub)


def test_an_interleaved_group_is_refused():
    keras.utils.clear_session()
    x = keras.Input((8, 8, 4), name="input")
    a = keras.layers.Conv2D(4, 1, name="a_first")(x)
    b = keras.layers.ReLU(name="middle")(a)
    c = keras.layers.Conv2D(4, 1, name="a_last")(b)
    model = keras.Model(x, c)
    with pytest.raises(ValueError, match="form a cycle"):
        diagrams.diagram_of(model, group=lambda n: "a" if n.startswith("a_") else None)
