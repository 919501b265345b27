"""``lago-tui serve``: Lago's HTTP API over the journal file, until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import os
import re
from typing import TextIO

from ..journal import JournalAPI, JournalError
from .output import error

ENV_TOKEN = "LAGO_TOKEN"
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)(i?b)?\s*$", re.IGNORECASE)
_ORIGIN = re.compile(r"^https?://[^/\s]+$")


def _size(text: str) -> int:
    m = _SIZE.match(text)
    if not m or int(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (bytes, or with K, M or G)")
    return int(m.group(1)) * 1024 ** " kmg".index((m.group(2) or " ").lower())


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0..65535; 0 picks a free one)")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return int(text)


def register(sub: argparse._SubParsersAction) -> dict:
    from ..server.security import DEFAULT_MAX_BODY, DEFAULT_MAX_STREAMS

    p = sub.add_parser("serve", help="serve the journal over Lago's HTTP API (lagod's routes)",
                       description="Serve the journal over Lago's HTTP API until Ctrl+C (SIGINT) or SIGTERM.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, loopback only)")
    p.add_argument("--port", type=_port, default=8080, help="port (default: 8080; 0 picks a free one)")
    p.add_argument("--token", metavar="TOKEN",
                   help=f"require 'Authorization: Bearer TOKEN' on every route but /health (default: ${ENV_TOKEN})")
    p.add_argument("--insecure", action="store_true",
                   help="allow listening beyond loopback without a token (anyone who can reach it can write)")
    p.add_argument("--max-body", type=_size, default=DEFAULT_MAX_BODY, metavar="N",
                   help="largest request body in bytes, or with K/M/G (default: 16M)")
    p.add_argument("--cors", metavar="ORIGIN",
                   help="let web pages from ORIGIN (e.g. http://localhost:3000) call the API (default: none)")
    p.add_argument("--max-streams", type=_count, default=DEFAULT_MAX_STREAMS, metavar="N",
                   help=f"open event streams at most (default: {DEFAULT_MAX_STREAMS}; more get 503)")
    p.add_argument("--no-extension", action="store_true",
                   help="serve Lago's routes only, like lagod (no /lago-tui/v1 routes: clients get fewer features)")
    p.add_argument("--ping", type=float, default=15.0, help=argparse.SUPPRESS)  # keep-alive interval (tests)
    p.add_argument("--idle-release", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--header-timeout", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--http", choices=("h11", "httptools"), default=None, help=argparse.SUPPRESS)
    return {"serve": cmd_serve}


def cmd_serve(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    from pathlib import Path

    from ..journal import Journal

    if not isinstance(journal, Journal):
        served = getattr(journal, "served_file", None)
        if served:
            raise JournalError(f"{served} is already served by lago-tui serve at {journal.location}")
        raise JournalError(f"serve needs a journal file, not {journal.location}")
    token = args.token if args.token is not None else os.environ.get(ENV_TOKEN) or None
    if args.cors is not None and not _ORIGIN.match(args.cors.rstrip("/")):
        raise JournalError(f"--cors {args.cors!r}: expected an origin such as http://localhost:3000")

    from ..server.security import is_loopback

    if not token and not args.insecure and not is_loopback(args.host):
        error(f"refusing to serve on {args.host} without a token: anyone who can reach it could read and "
              f"write the journal (give --token or ${ENV_TOKEN}, or --insecure)")
        return 2
    from ..server import runner
    from ..server.app import create_app
    from ..server.state import ServerState, Settings

    try:
        sock = runner.bind(args.host, args.port)
    except OSError as exc:
        raise JournalError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    try:
        settings = Settings(journal=Path(journal.location), token=token, cors_origin=args.cors,
                            max_body=args.max_body, max_streams=args.max_streams, keep_alive_ping=args.ping,
                            idle_release=args.idle_release, create_parents=journal.create_parents)
        state = ServerState(settings)
        journal.close()
        state.open()  # a file that cannot be the journal: one line, exit 2, before anything listens
        extensions = []
        if not args.no_extension:
            from ..server.extension import extension_routes

            extensions.append(extension_routes)
        app, _ = create_app(settings, state=state, extensions=extensions)
    except BaseException:
        sock.close()
        raise
    extra = {"header_timeout": args.header_timeout} if args.header_timeout else {}
    if args.http:
        extra["http"] = args.http
    url = runner.url_of(args.host, sock)
    from ..sidecar import serving_sidecar

    with serving_sidecar(settings.journal, url, token):
        runner.run(app, state, sock, url, **extra)
    return 0
