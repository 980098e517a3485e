"""Plain-text output for the command line: tables and error lines."""

import sys


def print_table(headers: list, rows: list) -> None:
    """Print rows under headers in aligned columns."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        cells_out = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells_out).rstrip())


def fail(message: str, code: int = 2) -> int:
    """Print an error line on stderr and return the exit code for it."""
    print(message, file=sys.stderr)
    return code


def error_line(exc: Exception) -> str:
    """An error as one line: every invalid field of an InvalidBody, else its message."""
    from strmsync.validation import InvalidBody

    if isinstance(exc, InvalidBody):
        return "; ".join(f"{name}: {problem}" for name, problem in exc.errors.items())
    return str(exc)


def run_action(command: str, args, actions: dict) -> int:
    """Run `actions[args.action](store, args, settings)` on the record; errors become lines.

    A ConfigError or FatalError is the user's to fix: one line on stderr and exit code 2.
    """
    from strmsync.config import load_settings
    from strmsync.errors import ConfigError, FatalError
    from strmsync.store import Store

    settings = load_settings(args.data)
    store = Store(settings.database_path)
    try:
        return actions[args.action](store, args, settings)
    except (ConfigError, FatalError) as exc:
        return fail(f"strmsync {command} {args.action}: {error_line(exc)}")
    finally:
        store.close()
