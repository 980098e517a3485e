"""The `strmsync` command line: one sub-command per module, imported only when chosen.

Importing every sub-command would load grpc, redis, rq and requests for a plain local
`strmsync sync`; so only the chosen command's module is imported, and the others appear
in `--help` from the table below.
"""

import argparse
import importlib
import logging
import sys

import _fastscan
from strmsync import __version__

COMMANDS = {
    "sync": ("strmsync.cli.sync", "sync SOURCE into TARGET once"),
    "serve": ("strmsync.cli.serve", "run the web server, workers and scheduler"),
    "worker": ("strmsync.cli.serve", "run one RQ worker (for more machines)"),
    "source": ("strmsync.cli.source", "manage sources (local, openlist, clouddrive2)"),
    "job": ("strmsync.cli.job", "manage jobs and run them through the queue"),
    "mediaserver": ("strmsync.cli.mediaserver", "manage Emby/Jellyfin servers to notify"),
}


def version_text() -> str:
    """The version line, naming the active `_fastscan` build."""
    return f"strmsync {__version__} (_fastscan: {_fastscan.IMPLEMENTATION})"


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The top-level parser: the chosen sub-command in full, the others by name and help."""
    parser = argparse.ArgumentParser(
        prog="strmsync", description="Mirror a cloud media library as .strm files.")
    parser.add_argument("--version", action="version", version=version_text())
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((arg for arg in (argv or []) if arg in COMMANDS), None)
    if chosen:
        importlib.import_module(COMMANDS[chosen][0]).register(commands)
    for name, (_module, summary) in COMMANDS.items():
        if name not in commands.choices:
            commands.add_parser(name, help=summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen sub-command; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    level = (args.log_level or "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.handler(args, parser)


if __name__ == "__main__":
    sys.exit(main())
