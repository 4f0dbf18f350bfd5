"""Command line: ``python -m mobilecourse COMMAND``.

Commands:
    bench   execute every lesson headless and print its wall time and the total.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mobilecourse")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("bench", help="run every lesson headless and report its wall time")
    args = parser.parse_args(argv)

    if args.command == "bench":
        from mobilecourse.bench import run_lessons

        run_lessons()
    return 0


if __name__ == "__main__":
    sys.exit(main())
