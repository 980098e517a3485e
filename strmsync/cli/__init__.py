"""The `strmsync` command line: one sub-command per module."""

import argparse
import logging
import sys

import _fastscan
from strmsync import __version__
from strmsync.cli import job, mediaserver, serve, source, sync


def version_text() -> str:
    """The version line, naming the active `_fastscan` build."""
    return f"strmsync {__version__} (_fastscan: {_fastscan.IMPLEMENTATION})"


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="strmsync", description="Mirror a cloud media library as .strm files.")
    parser.add_argument("--version", action="version", version=version_text())
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sync.register(commands)
    serve.register(commands)
    source.register(commands)
    job.register(commands)
    mediaserver.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen sub-command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = (args.log_level or "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.handler(args, parser)


if __name__ == "__main__":
    sys.exit(main())
