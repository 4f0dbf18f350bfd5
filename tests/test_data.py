"""The paper tables in data/: loadable from anywhere, sourced, and internally consistent."""

import shutil
import urllib.error

import numpy as np
import pytest

from mobilecourse import data
from mobilecourse.data import DATA_DIR, available_tables, paper_table

EXPECTED = {
    "mobilenet_v1",
    "mobilenet_v1_table2",
    "mobilenet_v1_table9",
    "mobilenet_v2_table4",
    "mobilenet_v2_memory",
    "shufflenet_table1",
    "shufflenet_table5",
    "shufflenet_table8",
    "squeezenet_table1",
    "squeezenet_table2",
    "squeezenet_table3",
    "energy",
    "model_sizes",
    "coreml_benchmark",
    "response_time_limits",
}


def test_every_table_cited_by_the_brief_is_there():
    assert EXPECTED <= set(available_tables())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_table_loads_from_any_directory_and_names_its_source(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = paper_table(name)
    assert len(table) > 0
    assert table["source"].notna().all() and (table["source"].str.len() > 10).all()


def test_every_csv_is_documented_in_the_data_readme():
    readme = (DATA_DIR / "README.md").read_text()
    for name in available_tables():
        assert f"`{name}.csv`" in readme, name


def test_unknown_table_lists_the_choices():
    with pytest.raises(ValueError, match="name must be one of .*'energy'"):
        paper_table("imagenet")


def test_squeezenet_table1_sums_to_the_published_total():
    assert paper_table("squeezenet_table1")["params"].sum() == 1_248_424


def test_mobilenet_table2_misprint_note_is_right():
    # With 1.91 in place of the printed 1.19 the mult-adds column sums to 100 %.
    table = paper_table("mobilenet_v1_table2")
    printed = table["mult_adds_percent"].sum()
    corrected = printed - 1.19 + 1.91
    assert abs(printed - 100) > 0.5 and abs(corrected - 100) < 0.02
    assert abs(table["params_percent"].sum() - 100) < 0.02


def test_shufflenet_stage_widths_double_per_stage():
    table = paper_table("shufflenet_table1")
    assert (table["stage3_channels"] == 2 * table["stage2_channels"]).all()
    assert (table["stage4_channels"] == 2 * table["stage3_channels"]).all()


# ------------------------------------------------------------------ offline digits


def test_digits_are_real_balanced_and_split_deterministically():
    (x_train, y_train), (x_test, y_test) = data.load_digits_dataset()
    assert x_train.shape == (4000, 28, 28, 1) and x_test.shape == (1000, 28, 28, 1)
    assert x_train.dtype == np.float32 and 0 <= x_train.min() and x_train.max() == 1.0
    assert np.bincount(y_test).tolist() == [100] * 10
    assert np.bincount(y_train).tolist() == [400] * 10
    (again, _), (again_test, _) = data.load_digits_dataset()
    np.testing.assert_array_equal(again, x_train)
    np.testing.assert_array_equal(again_test, x_test)
    (_, _), (other_test, _) = data.load_digits_dataset(seed=1)
    assert not np.array_equal(other_test, x_test)
    # digits are mostly dark background with bright strokes
    assert 0.05 < x_train.mean() < 0.25


def test_digits_checksum_catches_a_corrupt_file(tmp_path, monkeypatch):
    shutil.copy(data.DATA_DIR / "mnist_5k.npz", tmp_path / "mnist_5k.npz")
    with np.load(tmp_path / "mnist_5k.npz") as archive:
        images, labels = archive["images"].copy(), archive["labels"]
    images[0, 0, 0] ^= 1
    np.savez_compressed(tmp_path / "mnist_5k.npz", images=images, labels=labels)
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="corrupt"):
        data.load_digits_dataset()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "imagenet"}, "source must be one of"),
        ({"test_fraction": 1.0}, "test_fraction"),
        ({"test_fraction": 0}, "test_fraction"),
    ],
)
def test_digits_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load_digits_dataset(**kwargs)


def test_download_option_fails_fast_offline(monkeypatch):
    # Simulate the offline machine: keras.datasets cannot fetch its file.
    import keras

    def offline():
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.setenv(data.DATASET_ENV, "mnist")
    with pytest.raises(RuntimeError, match="needs the internet once.*mnist_5k"):
        data.load_digits_dataset()


def test_stratified_split_keeps_class_shares_and_is_repeatable():
    import numpy as np

    labels = np.repeat(np.arange(4), 10)
    images = np.arange(40)
    (a, ya), (b, yb) = data.stratified_split(images, labels, 0.3, seed=2)
    assert sorted(np.concatenate([a, b]).tolist()) == list(range(40))
    assert np.bincount(yb).tolist() == [3, 3, 3, 3]
    again = data.stratified_split(images, labels, 0.3, seed=2)
    assert np.array_equal(again[1][0], b) and np.array_equal(again[0][0], a)
    with pytest.raises(ValueError, match="same length"):
        data.stratified_split(images, labels[:-1], 0.3)
    with pytest.raises(ValueError, match="test_fraction"):
        data.stratified_split(images, labels, 1.0)


def test_resize_images_averages_down_and_keeps_the_batch():
    import numpy as np

    x = np.zeros((2, 28, 28, 1), np.float32)
    x[0, :14] = 1.0  # top half white
    small = data.resize_images(x, 14)
    assert small.shape == (2, 14, 14, 1) and small.dtype == np.float32
    assert small[0].mean() == pytest.approx(0.5, abs=0.02) and small[1].max() == 0
    assert data.resize_images(x, 28) is not None and np.array_equal(data.resize_images(x, 28), x)
    with pytest.raises(ValueError, match="size"):
        data.resize_images(x, 0)
    with pytest.raises(ValueError, match="images must be"):
        data.resize_images(x[0], 14)


# ------------------------------------------------------------ which megabyte each table prints


def test_model_size_tables_print_mb_or_mib_as_lesson_00_says():
    # Keras's own counts (built offline), x 4 bytes: the Core ML benchmark prints decimal MB,
    # the UNC deck's netscope table MiB, and its VGG16 row is the MiB of VGG16 minus fc8.
    import keras

    counts = {
        "Inception v3": keras.applications.InceptionV3(weights=None).count_params(),
        "ResNet-50": keras.applications.ResNet50(weights=None).count_params(),
        "VGG16": keras.applications.VGG16(weights=None).count_params(),
    }
    assert counts == {"Inception v3": 23_851_784, "ResNet-50": 25_636_712, "VGG16": 138_357_544}
    sizes = paper_table("model_sizes").set_index(["model", "published_in"])["size_mb"]
    for model, n in counts.items():
        assert round(4 * n / 1e6) == round(sizes[model, "Core ML benchmark"])
    assert (
        round(4 * counts["Inception v3"] / 2**20)
        == sizes["Inception v3", "UNC deck table (netscope)"]
    )
    assert (
        abs(4 * counts["ResNet-50"] / 2**20 - sizes["ResNet-50", "UNC deck table (netscope)"]) < 0.2
    )
    fc8 = 4096 * 1000 + 1000
    assert (
        round(4 * (counts["VGG16"] - fc8) / 2**20, 1) == sizes["VGG16", "UNC deck table (netscope)"]
    )
    assert abs(4 * counts["VGG16"] / 2**20 - 512.2) > 15  # with fc8 it fits neither unit


def test_energy_rows_name_where_they_come_from():
    energy = paper_table("energy")
    low_precision = energy["bits"] < 32
    assert energy.loc[low_precision, "source"].str.startswith("Horowitz").all()
    assert energy.loc[~low_precision, "source"].str.startswith("Han et al. 2015").all()
    assert energy["note"].str.contains("45 nm|SRAM|DRAM").all()


def test_model_sizes_agree_with_the_tables_they_gather():
    # lesson 00's size table gathers rows that lesson 03's and 00's fuller tables also print
    sizes = paper_table("model_sizes").set_index(["model", "published_in"])["size_mb"]
    unc = paper_table("unc_network_stats").set_index("model")["size_mb"]
    coreml = paper_table("coreml_benchmark").set_index("model")["size_mb"]
    for (model, table), size in sizes.items():
        if table == "UNC deck table (netscope)":
            assert float(unc[model]) == size, model
        elif table == "Core ML benchmark":
            assert coreml[model] == size, model
    squeezenet2 = paper_table("squeezenet_table2")
    alexnet = squeezenet2[squeezenet2["architecture"] == "AlexNet"]["model_size_mb"].max()
    assert sizes["AlexNet", "Deep Compression"] == alexnet
