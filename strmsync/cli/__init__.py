"""The `strmsync` command line: one sub-command per module, imported only when chosen.

Importing every sub-command would load grpc, redis, rq and requests for a plain local
`strmsync sync`; so only the chosen command's module is imported, and the others appear
in `--help` from the table below.
"""

import argparse
import importlib
import json
import logging
import sys

import _fastscan
from strmsync import __version__

EXIT_USAGE = 2
COMMANDS = {
    "sync": ("strmsync.cli.sync", "sync SOURCE into TARGET once"),
    "mirror": ("strmsync.cli.mirror", "keep LOCAL and a folder on an SMB share in step, once"),
    "serve": ("strmsync.cli.serve", "run the web server, workers and scheduler"),
    "worker": ("strmsync.cli.serve", "run one RQ worker (for more machines)"),
    "source": ("strmsync.cli.source", "manage sources (local, openlist, clouddrive2, smb)"),
    "job": ("strmsync.cli.job", "manage jobs and run them through the queue"),
    "mediaserver": ("strmsync.cli.mediaserver", "manage Emby/Jellyfin servers to notify"),
    "trakt": ("strmsync.cli.trakt", "link trakt jobs to Trakt accounts"),
}


def version_text() -> str:
    """The version line, naming the active `_fastscan` build."""
    return f"strmsync {__version__} (_fastscan: {_fastscan.IMPLEMENTATION})"


class CliParser(argparse.ArgumentParser):
    """argparse, with its errors as one JSON object when `--json` was asked for."""

    json_errors = False

    def error(self, message: str):
        if CliParser.json_errors:
            print(json.dumps({"status": "usage", "error": message, "usage": self.format_usage()
                              .strip()}))
            raise SystemExit(EXIT_USAGE)
        super().error(message)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The top-level parser: the chosen sub-command in full, the others by name and help."""
    parser = CliParser(
        prog="strmsync", description="Mirror a cloud media library as .strm files.")
    parser.add_argument("--version", action="version", version=version_text())
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument("--data", help="data directory (before or after the command)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((arg for arg in (argv or []) if arg in COMMANDS), None)
    if chosen:
        importlib.import_module(COMMANDS[chosen][0]).register(commands)
    for name, (_module, summary) in COMMANDS.items():
        if name not in commands.choices:
            commands.add_parser(name, help=summary)
    _data_anywhere(parser)
    return parser


def _data_anywhere(parser: argparse.ArgumentParser) -> None:
    # `--data` works before or after a command and its action: every level takes it, and
    # none sets a default, so a sub-parser cannot overwrite what an outer one read.
    for action in parser._actions:
        if action.dest == "data":
            action.default = argparse.SUPPRESS
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                if not any(a.dest == "data" for a in sub._actions) and sub._subparsers is None:
                    sub.add_argument("--data", help="data directory")
                _data_anywhere(sub)


def _chosen_parser(parser: argparse.ArgumentParser, args) -> argparse.ArgumentParser:
    """The innermost sub-command's parser (its usage is the one to show for its errors)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if chosen is not None:
                return _chosen_parser(chosen, args)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen sub-command; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    CliParser.json_errors = "--json" in argv
    parser = build_parser(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _chosen_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    args.data = getattr(args, "data", None)
    level = (args.log_level or "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Retries are the drivers' to report; urllib3's own warning per retry is noise here.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    return args.handler(args, parser)


if __name__ == "__main__":
    sys.exit(main())
