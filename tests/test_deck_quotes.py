"""The deck tables quoted in lessons 01, 02 and 05 hold together as printed.

Expected values are worked out by hand from the layer shapes, or are relations between
printed columns (totals against their parts), never read from the code under test.
"""

import math

import pandas as pd

from mobilecourse.data import paper_table


def test_mcu_cnn_params_bytes_and_packets_follow_from_the_shapes():
    table = paper_table("mcu_cnn").set_index(["layer", "operation"])
    # conv: 5 x 5 x input depth x filters + one bias per filter
    assert table.loc[("layer 1", "conv"), "params"] == 5 * 5 * 3 * 32 + 32
    assert table.loc[("layer 2", "conv"), "params"] == 5 * 5 * 32 * 32 + 32
    assert table.loc[("layer 3", "conv"), "params"] == 5 * 5 * 32 * 64 + 64
    assert table.loc[("layer 4", "fc + softmax"), "params"] == 4 * 4 * 64 * 10  # no bias printed
    rows = table.drop(index=("total", ""), errors="ignore").dropna(subset=["output_shape"])
    for shape, size in zip(rows["output_shape"], rows["data_bytes"], strict=True):
        assert math.prod(int(v) for v in shape.split("x")) == size  # one byte per value
    # a 116-byte payload gives every packet count
    pairs = zip(rows["data_bytes"], rows["packets"], strict=True)
    assert all(math.ceil(b / 116) == n for b, n in pairs)


def test_mcu_cnn_totals_add_up_with_the_printed_below_one_entries():
    table = paper_table("mcu_cnn")
    for column in ("time_216mhz_ms", "time_80mhz_ms"):
        layers, total = table[column].iloc[:-1].dropna(), float(table[column].iloc[-1])
        below_one = int((layers == "<1").sum())
        known = pd.to_numeric(layers, errors="coerce").sum()
        assert known <= total < known + below_one + 1e-9, column


def test_v1_v2_deck_rates_favour_v2_and_its_costs_are_the_networks():
    deck = paper_table("mobilenet_v1_v2_deck").set_index("network")
    for device in ("iphone_7", "iphone_x", "ipad_pro_10_5"):
        assert deck.loc["MobileNet V2", device] > deck.loc["MobileNet V1", device]
    assert deck.loc["MobileNet V1", "mult_adds_millions"] == 569  # MobileNet v1, Table 1
    assert deck.loc["MobileNet V2", "top5_percent"] > deck.loc["MobileNet V2", "top1_percent"]


def test_mobilenet_tables10_14_are_complete_and_costed_where_printed():
    table = paper_table("mobilenet_v1_tables10_14")
    assert table.groupby("table").size().to_dict() == {10: 5, 11: 15, 12: 7, 13: 9, 14: 5}
    costed = table[table["table"] != 11]
    assert costed["mult_adds_millions"].notna().all() and costed["params_millions"].notna().all()
    assert table.loc[table["table"] == 11, "mult_adds_millions"].isna().all()
    # Table 13 is printed in billions: SSD 300 + MobileNet's 1.2 B
    ssd = table[(table["table"] == 13) & (table["model"] == "SSD 300 + MobileNet")]
    assert ssd["mult_adds_millions"].item() == 1200


def test_deeplab_rows_pair_output_stride_16_with_8():
    table = paper_table("mobilenet_v2_table7")
    pairs = table.groupby(["network", "aspp"])["output_stride"].apply(sorted)
    assert all(strides == [8, 16] for strides in pairs)
    # the same network has the same parameters at both output strides
    assert (table.groupby(["network", "aspp"])["params_millions"].nunique() == 1).all()


def test_xception_table2_has_both_heads_for_both_networks():
    table = paper_table("xception_table2")
    assert sorted(zip(table["model"], table["fc_layers"], strict=True)) == [
        ("Inception V3", "no"),
        ("Inception V3", "yes"),
        ("Xception", "no"),
        ("Xception", "yes"),
    ]
