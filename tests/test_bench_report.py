"""The measured report of ``make bench``: probes, profiler count, sizes, Markdown, CLI.

Fast: no lesson is executed here (the probe machinery runs on a tiny notebook).
"""

import ast
import builtins
import json
import os
import site
from pathlib import Path

import nbformat
import pytest

from mobilecourse import bench, crosscheck, lessons
from mobilecourse.__main__ import main
from mobilecourse.bench import LessonRun
from mobilecourse.bench_report import collect_results, render_markdown, write_report

GOLDEN = Path(__file__).parent / "golden" / "bench_report.md"

PROFILERS = {
    "model": "mobilenet_v2_1.0_224",
    "input_shape": [224, 224, 3],
    "repeats": 3,
    "ours_seconds": 0.0125,
    "tf_seconds": 0.75,
    "tf_graph_seconds": 0.68,
    "tf_profile_seconds": 0.07,
    "tf_over_ours": 60.0,
    "macs": 300_774_272,
    "flops": 601_548_544,
    "tf_flops": 615_292_208,
    "tf_minus_ours_flops": 13_743_664,
    "tf_kernel_flops": 601_548_544,
    "tf_kernel_ops": ["Conv2D", "DepthwiseConv2dNative", "MatMul"],
    "tf_flops_by_op": {
        "Conv2D": 500_000_000,
        "DepthwiseConv2dNative": 101_548_544,
        "Mul": 7_000_000,
        "AddV2": 6_743_664,
        "MatMul": 0,
    },
}

ENVIRONMENT = {
    "prefix": "/venv",
    "prefix_bytes": 3 * 1024**3 // 2,
    "node_modules": "/repo/slides/node_modules",
    "node_modules_bytes": None,
    "site_packages": ["/venv/lib/python3.11/site-packages"],
    "largest_distributions": [
        {"name": "tensorflow-cpu", "version": "2.21.0", "bytes": 600 * 1024**2},
        {"name": "numpy", "version": "2.4.6", "bytes": 40 * 1024**2 + 512 * 1024},
    ],
}


def hand_made_results():
    runs = [
        LessonRun(
            "02_depthwise_separable",
            95.25,
            probe=bench.PROBES["02_depthwise_separable"],
            peak_rss=900 * 1024**2,
            probe_value={
                "112x112x32 -> 32": {
                    "MAC ratio (x)": 7.89,
                    "measured speed-up (x)": 3.945,
                    "standard ms": 2.5,
                    "separable ms": 0.6337,
                    "spread (% of median)": 4.0,
                }
            },
        ),
        LessonRun(
            "04_group_conv_and_shuffle",
            40.0,
            probe=bench.PROBES["04_group_conv_and_shuffle"],
            peak_rss=1100 * 1024**2 + 1,
            probe_value={
                "ResNet g=1, c=96": {
                    "MACs vs ResNet": 1.0,
                    "traffic vs ResNet": 1.0,
                    "latency (ms)": 2.0,
                    "spread (ms)": 0.05,
                    "latency vs ResNet": 1.0,
                },
                "ShuffleNet g=3, c=240": {
                    "MACs vs ResNet": 0.98,
                    "traffic vs ResNet": 2.5,
                    "latency (ms)": 4.0,
                    "spread (ms)": 0.25,
                    "latency vs ResNet": 2.0,
                },
            },
        ),
        LessonRun(
            "07_quantization",
            61.0,
            probe=bench.PROBES["07_quantization"],
            probe_error="NameError: name 'v2_latency' is not defined",
            peak_rss=700 * 1024**2,
        ),
    ]
    return collect_results(
        runs,
        PROFILERS,
        ENVIRONMENT,
        selection="02,04,07",
        available=[
            "00_why_mobile",
            "02_depthwise_separable",
            "04_group_conv_and_shuffle",
            "06_pruning",
            "07_quantization",
        ],
        machine={"cpu": "Test CPU @ 2.0GHz", "cores": 2, "ram_bytes": 8 * 1024**3, "os": "Linux"},
        versions_in_use={
            "python": "3.11.9",
            "tensorflow": "2.21.0",
            "keras": "3.15.1",
            "ai-edge-litert": "2.3.0",
            "numpy": "2.4.6",
            "mobilecourse": "0.1.0",
        },
        commit="0123abc",
        date="2030-01-02T03:04:05+00:00",
        seed=3,
    )


# ---------------------------------------------------------------- rendering


def test_markdown_report_of_a_hand_made_results_dict():
    results = hand_made_results()
    text = render_markdown(results)
    if not GOLDEN.exists():  # written once from the renderer, then inspected by eye
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()

    lines = text.splitlines()
    assert "- date: 2030-01-02T03:04:05+00:00" in lines
    assert "- machine: Test CPU @ 2.0GHz, 2 usable cores, 8.0 GiB RAM (Linux)" in lines
    assert "Targets: each lesson ≤ 90 s, total ≤ 7 min (420 s)." in text
    assert "| 02_depthwise_separable | 95.2 s | ≤ 90 s | **over 90 s** | 900 MiB |" in lines
    assert "| 04_group_conv_and_shuffle | 40.0 s | ≤ 90 s | ok | 1,100 MiB |" in lines
    total = "| **total** | 196.2 s | ≤ 420 s | ok (subset of the lessons) | 1,100 MiB (largest) |"
    assert total in lines
    # two kernels of 1,100 MiB and a byte: 2,200 MiB and 2 bytes, above 2 GiB
    assert "Memory per student on a hub: 2.5 GiB, room for two kernels" in text
    assert "- seed (MOBILECOURSE_SEED): 3" in lines
    # ours as MACs and FLOPs = 2 x MACs; TF's FLOPs and the honest difference
    assert "| 12.5 ms | 300,774,272 MACs = 601,548,544 FLOPs (2 × MACs) |" in text
    assert "| 750.0 ms | 615,292,208 FLOPs |" in text
    assert "TensorFlow takes 60.0× the time of ours." in text
    assert "minus our FLOPs (2 × MACs): +13,743,664 (+2.28 % of ours)." in text
    assert "601,548,544 FLOPs = 2 × our MACs" in text
    assert "Mul 7,000,000, AddV2 6,743,664." in text  # the rest by op type, zeros left out
    # lesson 02: theory 7.89x, measured 3.945x -> half the theory
    assert "| 112x112x32 -> 32 | 7.89 | 3.94 | 0.500 | 2.50 | 0.634 | 4.00 |" in lines
    # lesson 04: speed-ups against the first row (ResNet): 1 / 0.98 and 2 ms / 4 ms
    assert "| ShuffleNet g=3, c=240 | 0.980 | 1.02 | 0.500 | 2.50 | 4.00 | 0.250 |" in lines
    # lesson 07's failing probe is reported in both of its sections, not raised
    assert text.count("**Error:** probe failed: NameError: name 'v2_latency' is not defined") == 2
    assert "Not run: lesson does not exist yet." in lines  # 08 while being written
    assert "| virtual environment (sys.prefix) | `/venv` | 1536.0 |" in lines
    assert "| slides/node_modules | `/repo/slides/node_modules` | not present |" in lines
    assert "| numpy | 2.4.6 | 40.5 |" in lines
    assert results["errors"] == [
        "probe 07_quantization: NameError: name 'v2_latency' is not defined"
    ]


def test_json_is_the_same_dict(tmp_path):
    results = hand_made_results()
    md_path, json_path = write_report(results, tmp_path / "out")
    assert (md_path.name, json_path.name) == ("bench.md", "bench.json")
    assert json.loads(json_path.read_text()) == results
    assert md_path.read_text() == render_markdown(results)


def test_lesson_sections_not_selected_and_capstone_as_is():
    capstone = {"design": "MobileNetV2 0.35", "macs": 12_345_678, "budget_met": True}
    runs = [
        LessonRun("08_deploy_capstone", 30.0, probe="capstone_summary", probe_value=capstone),
        LessonRun("06_pruning", 20.0, error="ValueError: boom"),
    ]
    results = collect_results(
        runs,
        None,
        None,
        available=["02_depthwise_separable", "06_pruning", "08_deploy_capstone"],
        machine={},
        versions_in_use={},
    )
    text = render_markdown(results)
    assert "| design | MobileNetV2 0.35 |" in text
    assert "| macs | 12,345,678 |" in text and "| budget_met | yes |" in text
    assert "Not run: lesson not selected (--lessons)." in text
    assert "| 06_pruning | 20.0 s | ≤ 90 s | ERROR: ValueError: boom | n/a |" in text
    assert results["errors"] == ["lesson 06_pruning: ValueError: boom"]
    # no lesson measured its memory: no advice
    assert results["memory_per_student_bytes"] is None and "per student" not in text


# ---------------------------------------------------------------- probes


def test_probe_on_a_tiny_notebook(tmp_path):
    path = tmp_path / "97_tiny.ipynb"
    source = "import numpy as np\nx = sum(range(10))\nrates = np.arange(3) / 2"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    before = path.read_text()

    run = bench.run_lesson(path, "{'x': x, 'rates': rates, 'nan': float('nan')}")
    assert run.error is None and run.probe_error is None and run.seconds > 0
    assert run.probe_value == {"x": 45, "rates": [0.0, 0.5, 1.0], "nan": None}
    # a kernel that imported NumPy holds tens of MiB, far less than a GiB
    assert 20 * 1024**2 < run.peak_rss < 1024**3

    failed = bench.run_lesson(path, "{'y': y}")
    assert failed.error is None and failed.probe_value is None
    assert failed.probe_error == "NameError: name 'y' is not defined"
    results = collect_results([run, failed], None, None, machine={}, versions_in_use={})
    assert results["errors"] == ["probe 97_tiny: NameError: name 'y' is not defined"]
    assert path.read_text() == before  # the probe cell is never written to the notebook


def test_a_lesson_that_raises_is_recorded(tmp_path):
    path = tmp_path / "96_raises.ipynb"
    cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise KeyError('k')")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    run = bench.run_lesson(path, "x")
    # the error names the line that raised
    assert run.error == "KeyError: 'k' (at: raise KeyError('k'))"
    assert run.probe_error is None and run.seconds > 0
    assert run.peak_rss is None  # the memory cell never ran


def test_peak_memory_is_read_without_a_probe(tmp_path):
    path = tmp_path / "95_big.ipynb"
    # 200 MiB touched: the kernel's peak must show it
    cell = nbformat.v4.new_code_cell("block = bytearray(200 * 1024**2)")
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    run = bench.run_lesson(path)
    assert run.error is None and run.probe is None
    assert 200 * 1024**2 < run.peak_rss < 1024**3


@pytest.mark.parametrize(
    ("peaks", "gib"),
    [([1], 0.5), ([256 * 1024**2], 0.5), ([256 * 1024**2 + 1], 1.0), ([10, 1024**3], 2.0)],
)
def test_memory_per_student_is_two_kernels_rounded_up_to_half_a_gib(peaks, gib):
    assert bench.memory_per_student(peaks) == gib * 1024**3


@pytest.mark.parametrize(
    ("peaks", "error", "match"),
    [([], ValueError, "at least one"), ([0], ValueError, "each of peaks must be a positive"),
     ([-5], ValueError, "positive"), ([1.5], TypeError, "integer"), ([True], TypeError, "integer")],
)  # fmt: skip
def test_memory_per_student_refuses_bad_peaks(peaks, error, match):
    with pytest.raises(error, match=match):
        bench.memory_per_student(peaks)


def test_read_probe_without_a_probe_line():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    assert bench.read_probe(notebook) == (None, "the probe cell printed no probe line")


def _globals_assigned(tree: ast.AST) -> set[str]:
    """Names bound at a notebook's top level (not inside functions or classes)."""
    names: set[str] = set()

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            return
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _free_names(expression: str) -> set[str]:
    tree = ast.parse(expression, mode="eval")
    bound = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return loaded - bound - set(dir(builtins))


def _subscript_strings(expression: str) -> set[str]:
    """String constants used as subscripts (column names such as ``"size ratio"``)."""
    strings = set()
    for node in ast.walk(ast.parse(expression, mode="eval")):
        if isinstance(node, ast.Subscript):
            strings |= {
                n.value
                for n in ast.walk(node.slice)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            }
    return strings


@pytest.mark.parametrize("stem", sorted(bench.PROBES))
def test_probe_names_are_assigned_in_the_lesson(stem):
    path = lessons.NOTEBOOK_DIR / f"{stem}.ipynb"
    assert path.exists(), f"the bench probes {stem}, which is not a lesson"
    notebook = nbformat.read(path, as_version=4)
    assigned, strings = set(), set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        tree = ast.parse(source)
        assigned |= _globals_assigned(tree)
        strings |= {
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
    expression = bench.PROBES[stem]
    assert _free_names(expression) <= assigned, sorted(_free_names(expression) - assigned)
    assert _subscript_strings(expression) <= strings  # the columns the probe selects


def test_probe_checks_catch_a_missing_name():
    tree = ast.parse("measured = 1\ndef f():\n    table = 2\nfor v2_ratio in []: pass")
    assert _globals_assigned(tree) >= {"measured", "f", "v2_ratio"}
    assert "table" not in _globals_assigned(tree)
    assert _free_names(bench.PROBES["07_quantization"]) == {
        "table",
        "v2_latency",
        "v2_timings",
        "v2_ratio",
        "v2_files",
    }
    assert "MAC ratio (x)" in _subscript_strings(bench.PROBES["02_depthwise_separable"])


def test_probe_cell_source_rejects_an_empty_expression():
    with pytest.raises(ValueError, match="expression"):
        bench.probe_cell_source(" ")


# ---------------------------------------------------------------- TensorFlow's count


def test_tf_profiler_counts_two_flops_per_mac_of_a_bias_free_conv():
    import keras

    from mobilecourse.profile import profile_model

    keras.utils.clear_session()
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, use_bias=False)(inputs))
    count = crosscheck.tf_float_operations(model)
    macs = profile_model(model).macs
    assert macs == 6 * 6 * 4 * 3 * 3 * 3
    assert count.flops == 2 * macs and count.flops_by_op == {"Conv2D": 2 * macs}
    assert count.graph_seconds > 0 and count.profile_seconds > 0

    with_bias = keras.Model(inputs, keras.layers.Conv2D(4, 3)(inputs))
    count = crosscheck.tf_float_operations(with_bias)
    assert count.flops_by_op == {"Conv2D": 2 * macs, "BiasAdd": 6 * 6 * 4}  # one add per output


# ---------------------------------------------------------------- environment size


def _write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


def test_environment_size_of_a_known_tree(tmp_path):
    prefix = tmp_path / "venv"
    site_packages = Path(site.getsitepackages([str(prefix)])[0])
    _write(prefix / "bin" / "tool", 1000)
    os.symlink(prefix / "bin" / "tool", prefix / "bin" / "link")  # not counted twice
    for name, files in (("big", {"big/a.bin": 3000, "big/b.bin": 2000}), ("small", {"s.py": 10})):
        info = site_packages / f"{name}-1.0.dist-info"
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
        _write(info / "METADATA", 0)
        (info / "METADATA").write_text(metadata)
        record = [f"{path},," for path in files] + [f"{name}-1.0.dist-info/METADATA,,"]
        (info / "RECORD").write_text("\n".join(record) + "\n")
        for path, size in files.items():
            _write(site_packages / path, size)
    metadata_bytes = {
        name: len(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        for name in ("big", "small")
    }
    record_bytes = sum(p.stat().st_size for p in site_packages.glob("*/RECORD"))
    nodes = tmp_path / "node_modules"
    _write(nodes / "reveal" / "index.js", 4096)

    env = bench.environment_size(prefix, nodes, top=1)
    assert env["prefix_bytes"] == 1000 + 5010 + sum(metadata_bytes.values()) + record_bytes
    assert env["node_modules_bytes"] == 4096
    assert env["largest_distributions"] == [
        {"name": "big", "version": "1.0", "bytes": 5000 + metadata_bytes["big"]}
    ]
    assert bench.environment_size(prefix, tmp_path / "absent")["node_modules_bytes"] is None
    assert bench.directory_bytes(nodes) == 4096


# ---------------------------------------------------------------- command line


def test_cli_unknown_lesson_is_a_one_line_error(capsys):
    assert main(["bench", "--lessons", "99"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("python -m mobilecourse bench: error: no lesson 99 in ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("spec", ["", "2,x", "02;07"])
def test_cli_malformed_lessons(capsys, spec):
    assert main(["bench", "--lessons", spec]) == 2
    err = capsys.readouterr().err
    assert "--lessons must be lesson numbers" in err and err.count("\n") == 1


def test_cli_out_must_be_a_folder(tmp_path, capsys):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert main(["bench", "--lessons", "00", "--out", str(not_a_folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m mobilecourse bench: error: cannot use --out")
    assert err.count("\n") == 1


def test_select_lessons_by_number_prefix():
    paths = [Path("00_a.ipynb"), Path("02_b.ipynb"), Path("07_c.ipynb")]
    assert lessons.select_lessons("7,02", paths) == [paths[1], paths[2]]
    assert lessons.select_lessons(None, paths) == paths


def test_cli_writes_the_report_and_exits_1_on_a_failed_probe(tmp_path, monkeypatch, capsys):
    path = tmp_path / "97_tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    monkeypatch.setattr(lessons, "lesson_paths", lambda: [path])
    monkeypatch.setitem(bench.PROBES, "97_tiny", "{'x': x, 'gone': renamed_in_the_lesson}")

    def skipped():
        raise RuntimeError("skipped in this test")

    monkeypatch.setattr(crosscheck, "compare_profilers", skipped)
    monkeypatch.setattr(bench, "environment_size", skipped)
    monkeypatch.setattr(bench, "git_commit", lambda: None)

    assert main(["bench", "--lessons", "97", "--out", str(tmp_path / "report")]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("97_tiny ") and "probe failed: NameError" in out
    assert f"wrote {tmp_path / 'report' / 'bench.md'}" in out
    assert err.splitlines() == [
        "python -m mobilecourse bench: error: probe 97_tiny: "
        "NameError: name 'renamed_in_the_lesson' is not defined",
        "python -m mobilecourse bench: error: profiler comparison: "
        "RuntimeError: skipped in this test",
        "python -m mobilecourse bench: error: environment size: RuntimeError: skipped in this test",
    ]
    results = json.loads((tmp_path / "report" / "bench.json").read_text())
    assert results["lessons_run"] == ["97_tiny"] and results["selection"] == "97"
    text = (tmp_path / "report" / "bench.md").read_text()
    assert text.count("Not measured: RuntimeError: skipped in this test") == 2
