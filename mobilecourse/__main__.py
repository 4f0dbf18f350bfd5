"""Command line: ``python -m mobilecourse COMMAND``.

Commands:
    profile MODEL   print the per-layer cost table and totals of a course model, or of any
                    keras.applications model as keras:NAME (built with weights=None),
                    e.g. keras:MobileNetV3Large --input-size 224.
    bench [--out DIR] [--lessons 02,07] [--seed N] [--cpus K]
                    execute the lessons headless and write DIR/bench.md and DIR/bench.json
                    (default DIR: build/): wall times against the targets, what the lessons
                    measured, our profiler against TensorFlow's, the environment's size.
                    --seed and --cpus run the lessons with MOBILECOURSE_SEED=N on K CPUs.
    perturb [--released] [--lessons 02,07] [--seed N] [--cpus K] [-- PYTEST_OPTIONS]
                    run every lesson under pytest (give nbval's options after --) with
                    MOBILECOURSE_SEED=N (default 1) on K CPUs (default 1): what they store
                    and assert must hold there too. --released runs a fresh student
                    release instead (written to a temporary folder, removed afterwards):
                    under strict nbval it must run top to bottom and match every stored
                    output but the exercises'. The exit status is pytest's.
    zoo [--out DIR] [--models A,B]
                    profile every keras.applications model (weights=None) with ours and
                    with tf.compat.v1.profiler; write DIR/zoo.md (default DIR: build/).
    release OUT_DIR [--format student|nbgrader]
                    write the student release of the lessons (solutions stripped); with
                    --format nbgrader, an nbgrader course folder instead: OUT_DIR/source/
                    NN_name/NN_name.ipynb (solution cells, locked autograded check cells)
                    and OUT_DIR/nbgrader_config.py.
    slides [OUT_DIR] [--full] [--no-pdf]
                    build one offline reveal.js lecture deck per lesson (default folder:
                    slides/), NN_name.slides.html, and print each to NN_name.pdf with
                    Chromium (one page per slide); --no-pdf: decks only; --full: the
                    decks of every cell with its code, NN_name.full.slides.html (no PDF).
    app             serve the cost calculators with Voila on 127.0.0.1.

Errors are one line on stderr with exit status 2. ``bench`` exits with status 1 if a
lesson, a probe or a measurement failed (the report is still written; one line on
stderr per failure).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

MODELS = ("mobilenet_v1", "mobilenet_v2", "squeezenet", "shufflenet")
FORMATS = ("text", "csv", "markdown")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are a single line."""

    def error(self, message):  # noqa: D102 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m mobilecourse")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    prof = sub.add_parser("profile", help="per-layer MACs and parameters of a model")
    prof.add_argument(
        "model",
        help=f"one of {', '.join(MODELS)}, or keras:NAME for keras.applications.NAME",
    )
    prof.add_argument(
        "--width",
        type=float,
        help="width multiplier: MobileNet's alpha, ShuffleNet's s (course models; default 1.0)",
    )
    prof.add_argument(
        "--input-size", type=int, help="input height and width (default: the paper's)"
    )
    prof.add_argument("--channels", type=int, default=3, help="input channels (default 3)")
    prof.add_argument("--classes", type=int, default=1000, help="classes (default 1000)")
    prof.add_argument("--groups", type=int, help="groups g (shufflenet; default 3)")
    prof.add_argument("--no-shuffle", action="store_true", help="shufflenet without shuffle")
    prof.add_argument(
        "--full-conv",
        action="store_true",
        help='mobilenet_v1 with full 3x3 convs ("Conv MobileNet")',
    )
    prof.add_argument("--format", choices=FORMATS, default="text", help="output format")
    prof.add_argument("--all-layers", action="store_true", help="also list layers with no cost")
    ben = sub.add_parser(
        "bench",
        help="run every lesson headless and write build/bench.md and build/bench.json",
    )
    ben.add_argument(
        "--out", metavar="DIR", help="folder for bench.md and bench.json (default: build/)"
    )
    ben.add_argument(
        "--lessons",
        metavar="NN,NN",
        help="only these lessons, by number prefix, e.g. 02,07 (default: all)",
    )
    for command in (
        ben,
        per := sub.add_parser(
            "perturb", help="run every lesson under another seed on fewer CPUs (pytest)"
        ),
    ):
        default = " (default: the environment's)" if command is ben else " (default %(default)s)"
        command.add_argument(
            "--seed",
            type=int,
            default=None if command is ben else 1,
            help="MOBILECOURSE_SEED for the lessons" + default,
        )
        command.add_argument(
            "--cpus",
            type=int,
            default=None if command is ben else 1,
            help="run on this many CPUs" + (" (default: all)" if command is ben else default),
        )
    per.add_argument(
        "--released",
        action="store_true",
        help="run a fresh student release (solutions stripped) instead of notebooks/",
    )
    per.add_argument(
        "--lessons",
        metavar="NN,NN",
        help="only these lessons, by number prefix, e.g. 02,07 (default: all)",
    )
    per.add_argument("pytest_args", nargs=argparse.REMAINDER, help="options for pytest, after --")
    zoo = sub.add_parser(
        "zoo", help="our profiler against TensorFlow's on every keras.applications model"
    )
    zoo.add_argument("--out", metavar="DIR", help="folder for zoo.md (default: build/)")
    zoo.add_argument(
        "--models", metavar="A,B", help="only these keras.applications names (default: all)"
    )
    rel = sub.add_parser("release", help="write the student copy of the lessons")
    rel.add_argument("out_dir", help="folder to write (not notebooks/), e.g. build/student")
    rel.add_argument(
        "--format",
        choices=("student", "nbgrader"),
        default="student",
        help="student: notebooks with stubs (default); nbgrader: nbgrader source notebooks",
    )
    sli = sub.add_parser("slides", help="build the offline reveal.js decks")
    sli.add_argument("out_dir", nargs="?", help="folder for the decks (default: slides/)")
    sli.add_argument(
        "--full",
        action="store_true",
        help="write the full decks (NN_name.full.slides.html): every cell with its code",
    )
    sli.add_argument(
        "--no-pdf", action="store_true", help="do not print the lecture decks to PDF handouts"
    )
    app = sub.add_parser("app", help="serve the cost calculators as a Voila web app")
    app.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default 8866)")
    tab = sub.add_parser(
        "search-table",
        help="proxy-train lesson 08's search space and write its accuracy table (CSV)",
    )
    tab.add_argument(
        "--out",
        metavar="CSV",
        default=None,
        help="where to write it (default: the package's data/search_accuracy.csv)",
    )
    tab.add_argument("--seeds", default="0,1", help="training seeds, e.g. 0,1 (default: 0,1)")
    tab.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="only the first N candidates (a quick try)",
    )
    ref = sub.add_parser("references", help="print the reading list (Markdown)")
    ref.add_argument(
        "--lesson", metavar="NN", help="one lesson's 'Papers and further reading' cell"
    )
    return parser


KERAS_PREFIX = "keras:"


def _keras_application(args):
    """``keras.applications.NAME(weights=None)`` and the input shape to profile it at."""
    import keras

    from mobilecourse.crosscheck import zoo_names

    name = args.model[len(KERAS_PREFIX) :]
    if name not in zoo_names():
        raise ValueError(
            f"unknown keras.applications model {name!r}; choose one of {', '.join(zoo_names())}"
        )
    for option in ("width", "groups"):
        if getattr(args, option) is not None:
            raise ValueError(f"--{option} applies only to the course's models")
    for option in ("no_shuffle", "full_conv"):
        if getattr(args, option):
            raise ValueError(f"--{option.replace('_', '-')} applies only to the course's models")
    model = getattr(keras.applications, name)(weights=None, classes=args.classes)
    fixed = tuple(model.inputs[0].shape)[1:3]
    if args.input_size is None and None not in fixed:
        return model, None
    size = 224 if args.input_size is None else args.input_size
    return model, (size, size, args.channels)


def _build(args):
    from mobilecourse import models

    if args.model not in MODELS:
        raise ValueError(
            f"unknown model {args.model!r}; choose one of {', '.join(MODELS)}, or "
            f"{KERAS_PREFIX}NAME for a keras.applications model"
        )
    options = {
        "width": ("mobilenet_v1", "mobilenet_v2", "shufflenet"),
        "groups": ("shufflenet",),
        "no_shuffle": ("shufflenet",),
        "full_conv": ("mobilenet_v1",),
    }
    for option, allowed in options.items():
        value = getattr(args, option)
        if value not in (None, False) and args.model not in allowed:
            flag = "--" + option.replace("_", "-")
            raise ValueError(f"{flag} applies only to {' and '.join(allowed)}")
    default_size = 227 if args.model == "squeezenet" else 224
    size = default_size if args.input_size is None else args.input_size
    kwargs = {"input_shape": (size, size, args.channels), "classes": args.classes}
    if args.width is not None:
        kwargs["width"] = args.width
    if args.model == "mobilenet_v1":
        kwargs["depthwise"] = not args.full_conv
    if args.model == "shufflenet":
        kwargs["groups"] = 3 if args.groups is None else args.groups
        kwargs["shuffle"] = not args.no_shuffle
    return getattr(models, args.model)(**kwargs)


def _profile(args) -> str:
    from mobilecourse import report
    from mobilecourse.profile import profile_model

    if args.model.startswith(KERAS_PREFIX):
        model, input_shape = _keras_application(args)
    else:
        model, input_shape = _build(args), None
    profile = profile_model(model, input_shape=input_shape)
    if args.format == "csv":
        return report.profile_csv(profile)
    if args.format == "markdown":
        return report.profile_markdown(profile, skip_empty=not args.all_layers)
    return report.profile_text(profile, skip_empty=not args.all_layers)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)

    if args.command == "profile":
        from mobilecourse import quiet_tensorflow

        quiet_tensorflow()
        try:
            text = _profile(args)
        except (TypeError, ValueError) as err:
            print(f"{parser.prog} profile: error: {err}", file=sys.stderr)
            return 2
        print(text.rstrip("\n"))
    else:
        try:
            return _COMMANDS[args.command](args)
        except (TypeError, ValueError, RuntimeError) as err:
            print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
            return 2
    return 0


def _bench(args) -> int:
    from mobilecourse import bench_report, lessons, quiet_tensorflow

    quiet_tensorflow()
    out_dir = lessons.NOTEBOOK_DIR.parent / "build" if args.out is None else Path(args.out)
    lessons = lessons.select_lessons(args.lessons)
    try:  # before the long run: a folder that cannot be made fails now
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot use --out {out_dir}: {err.strerror or err}") from None
    results = bench_report.run_bench(
        lessons,
        selection=args.lessons,
        out=lambda line: print(line, flush=True),
        seed=args.seed,
        cpus=args.cpus,
    )
    for path in bench_report.write_report(results, out_dir):
        print(f"wrote {path}")
    for error in results["errors"]:
        print(f"python -m mobilecourse bench: error: {error}", file=sys.stderr)
    return 1 if results["errors"] else 0


def _zoo(args) -> int:
    from mobilecourse import crosscheck, lessons, quiet_tensorflow

    quiet_tensorflow()
    out_dir = lessons.NOTEBOOK_DIR.parent / "build" if args.out is None else Path(args.out)
    names = None if args.models is None else [n.strip() for n in args.models.split(",")]
    for name in names or []:
        if name not in crosscheck.zoo_names():
            raise ValueError(
                f"--models names unknown keras.applications model {name!r}; choose from "
                f"{', '.join(crosscheck.zoo_names())}"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = crosscheck.compare_zoo(names, out=lambda line: print(line, flush=True))
    path = out_dir / "zoo.md"
    path.write_text(crosscheck.zoo_markdown(rows))
    print(f"wrote {path}")
    return 0 if all(r.params_equal and (r.macs_equal or not r.comparable) for r in rows) else 1


def _perturb(args) -> int:
    import contextlib
    import subprocess
    import tempfile

    from mobilecourse import bench, lessons

    paths = lessons.select_lessons(args.lessons, lessons.lesson_paths(lessons.NOTEBOOK_DIR))
    options = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    with contextlib.ExitStack() as stack:
        stack.enter_context(bench.perturbed(args.seed, args.cpus))  # checks --seed, --cpus
        what = "lessons"
        if args.released:
            from mobilecourse.release import make_release

            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="mobilecourse-"))
            make_release(folder, lessons.NOTEBOOK_DIR)
            paths = [Path(folder) / p.name for p in paths]
            what = "student release (solutions stripped) of lessons"
            # outside the repository pytest would find no configuration: use the repository's
            config = Path(__file__).resolve().parent.parent / "pyproject.toml"
            if config.is_file():
                options = ["-c", str(config), "--rootdir", folder, *options]
        cpus = sorted(os.sched_getaffinity(0))
        print(
            f"{what} {', '.join(p.stem[:2] for p in paths)} with MOBILECOURSE_SEED="
            f"{args.seed} on {len(cpus)} CPU{'s' if len(cpus) > 1 else ''} ({cpus})",
            flush=True,
        )
        command = [sys.executable, "-m", "pytest", *options, *map(str, paths)]
        return subprocess.run(command, check=False).returncode


def _release(args) -> int:
    from mobilecourse.lessons import NOTEBOOK_DIR
    from mobilecourse.release import NBGRADER_POINTS, make_nbgrader_source, make_release

    if args.format == "nbgrader":
        written = make_nbgrader_source(args.out_dir, NOTEBOOK_DIR)
        lessons = [p for p in written if p.suffix == ".ipynb"]
        print(
            f"wrote {len(lessons)} nbgrader source notebooks ({NBGRADER_POINTS} point per "
            f"exercise) and nbgrader_config.py to {written[-1].parent}; there, run "
            f"`nbgrader generate_assignment {lessons[0].parent.name}` for each lesson"
        )
        return 0
    written = make_release(args.out_dir, NOTEBOOK_DIR)
    lessons = [p for p in written if p.suffix == ".ipynb"]
    print(f"wrote {len(lessons)} student notebooks and README.md to {written[0].parent}")
    return 0


def _slides(args) -> int:
    from mobilecourse import slides
    from mobilecourse.lessons import NOTEBOOK_DIR

    out_dir = NOTEBOOK_DIR.parent / "slides" if args.out_dir is None else args.out_dir
    decks = slides.build_all(NOTEBOOK_DIR, out_dir, lecture=not args.full)
    for deck in decks:
        print(deck)
    if not (args.full or args.no_pdf):
        try:
            pdfs = slides.write_handouts(decks)
        except (FileNotFoundError, ImportError) as err:
            raise RuntimeError(f"the decks are written, but not their PDFs: {err}") from err
        for pdf in pdfs:
            print(f"{pdf} ({slides.pdf_page_count(pdf)} pages)")
    return 0


def _app(args) -> int:
    from mobilecourse import app

    return app.serve(port=args.port)


def _references(args) -> int:
    from mobilecourse import references

    print(references.reading_markdown(args.lesson))
    return 0


def _search_table(args) -> int:
    import datetime

    from mobilecourse import setup_notebook

    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(f"--seeds must be integers >= 0 separated by commas, got {args.seeds!r}")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be a positive integer, got {args.limit}")
    setup_notebook(seeds[0], verbose=False)  # quiet TensorFlow, deterministic ops

    from mobilecourse import deploy
    from mobilecourse.data import DATA_DIR

    out = DATA_DIR / f"{deploy.ACCURACY_TABLE}.csv" if args.out is None else Path(args.out)
    space = deploy.SEARCH_SPACE[: args.limit]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    table = deploy.accuracy_table(space, seeds, date=date, out=lambda line: print(line, flush=True))
    table.to_csv(out, index=False)
    print(f"wrote {out} ({len(table)} candidates, seeds {args.seeds})")
    return 0


_COMMANDS = {
    "bench": _bench,
    "perturb": _perturb,
    "zoo": _zoo,
    "release": _release,
    "slides": _slides,
    "app": _app,
    "references": _references,
    "search-table": _search_table,
}


if __name__ == "__main__":
    sys.exit(main())
