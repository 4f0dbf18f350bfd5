"""The disk cache: where it lives, atomic writes, its size cap, and conversions through it."""

import os

import keras
import numpy as np
import pytest

from mobilecourse import cache, models, tflite


@pytest.fixture
def folder(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_where_the_cache_lives(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"
    monkeypatch.setenv(cache.CACHE_ENV, "OFF")
    assert cache.cache_dir() is None
    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "mobilecourse"


def test_store_then_lookup_and_off_means_nothing_kept(folder, monkeypatch):
    assert cache.lookup("a.bin") is None
    cache.store("a.bin", lambda path: open(path, "wb").write(b"abc"))
    assert cache.lookup("a.bin").read_bytes() == b"abc"
    assert [p.name for p in folder.iterdir()] == ["a.bin"]  # no partial file left behind

    def fails(path):
        open(path, "wb").write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        cache.store("b.bin", fails)
    assert sorted(p.name for p in folder.iterdir()) == ["a.bin"]
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    cache.store("c.bin", lambda path: open(path, "wb").write(b"x"))
    assert cache.lookup("a.bin") is None and not (folder / "c.bin").exists()


def test_the_oldest_files_go_when_the_cache_is_full(folder, monkeypatch):
    monkeypatch.setattr(cache, "MAX_BYTES", 250)
    for i, name in enumerate(["old", "middle", "new"]):
        cache.store(name, lambda path: open(path, "wb").write(b"x" * 100))
        os.utime(folder / name, (1000 + i, 1000 + i))
    cache.store("newest", lambda path: open(path, "wb").write(b"x" * 100))
    assert sorted(p.name for p in folder.iterdir()) == ["new", "newest"]


def test_keys_change_with_facts_code_and_arrays():
    a = np.zeros(3, np.float32)
    base = cache.key({"mode": "int8"}, ("tflite.py",), a)
    assert base == cache.key({"mode": "int8"}, ("tflite.py",), a.copy())
    assert base != cache.key({"mode": "float32"}, ("tflite.py",), a)
    assert base != cache.key({"mode": "int8"}, ("tflite.py", "blocks.py"), a)
    assert base != cache.key({"mode": "int8"}, ("tflite.py",), a + 1)
    assert base != cache.key({"mode": "int8"}, ("tflite.py",), a.reshape(1, 3))


def test_a_model_converted_twice_is_converted_once(folder, monkeypatch):
    conversions = []
    convert = tflite._convert
    monkeypatch.setattr(
        tflite, "_convert", lambda *args: conversions.append(args[1]) or convert(*args)
    )
    keras.utils.clear_session()
    keras.utils.set_random_seed(5)
    model = models.digits_cnn(width=0.5)
    first = tflite.to_tflite(model)
    assert tflite.to_tflite(model) == first and conversions == ["float32"]
    sample = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    tflite.to_tflite(model, "int8", representative_data=sample)
    tflite.to_tflite(model, "int8", representative_data=sample, per_channel=False)
    tflite.to_tflite(model, "int8", representative_data=sample + 0.01)
    assert conversions == ["float32", "int8", "int8", "int8"]
    model.get_layer("predictions").bias.assign(np.ones(10, np.float32))  # new weights
    assert tflite.to_tflite(model) != first and conversions[-1] == "float32"
    assert len(list(folder.iterdir())) == 5
