"""`strmsync serve` and `strmsync worker`."""

import argparse
import logging

from strmsync.config import load_settings
from strmsync.service.queue import redis_url


def register(commands) -> None:
    """Add the `serve` and `worker` sub-commands."""
    p = commands.add_parser("serve", help="run the web server, workers and scheduler",
                            description="Run everything on one box: web panel and API, RQ"
                                        " workers, cron schedules (embedded Redis unless"
                                        " REDIS_URL is set).")
    p.add_argument("--host", help="address to listen on (default 0.0.0.0)")
    p.add_argument("--port", type=int, help="port to listen on (default 8580)")
    p.add_argument("--workers", type=int, help="number of RQ workers (default 2)")
    p.add_argument("--data", help="data directory")
    p.set_defaults(handler=run_serve)
    w = commands.add_parser("worker", help="run one RQ worker (for more machines)",
                            description="Process runs from the queue at REDIS_URL.")
    w.add_argument("--data", help="data directory (must be the same record as the service)")
    w.add_argument("--name", help="worker name")
    w.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    w.set_defaults(handler=run_worker)


def run_serve(args: argparse.Namespace, parser) -> int:
    """Start the service and block until it is stopped."""
    from strmsync.service.supervisor import serve

    flags = {"host": args.host, "port": args.port, "workers": args.workers}
    settings = load_settings(args.data, flags=flags)
    if args.log_level is None:  # the service logs at its configured level, like its workers
        logging.getLogger().setLevel(settings.log_level)
    return serve(settings)


def run_worker(args: argparse.Namespace, parser) -> int:
    """Run one worker until stopped."""
    from strmsync.service.worker import work

    settings = load_settings(args.data)
    work(redis_url(settings), str(settings.data_dir), burst=args.burst, name=args.name)
    return 0
