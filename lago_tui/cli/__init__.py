"""The scriptable CLI over the journal. Expected failures print one line and exit 2, never a traceback.

Each command lives in a module of this package (``reading``, ``writing``, ...) that adds its subparser in
``register`` and returns its handlers; a handler gets the journal (:class:`~lago_tui.journal.JournalAPI`,
a file or a server), the parsed arguments and the output stream, and returns the exit status.
"""

from __future__ import annotations

import argparse
import sys

from ..journal import JournalError
from . import analysis, completion, manage, reading, serving, writing
from .output import PROG, error

COMMAND_MODULES = (reading, writing, analysis, manage, serving, completion)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, like every other failure
        self.print_usage(sys.stderr)
        error(message)
        raise SystemExit(2)


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = _Parser(prog=PROG, description="Browse and create AI-agent sessions in a Lago event journal.")
    parser.add_argument("--journal", metavar="PATH", help="journal file or server URL (default: $LAGO_JOURNAL, else the user data dir)")
    parser.add_argument("--utc", action="store_true", default=None, help="show times in UTC (default: local time, $TZ)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    handlers: dict = {}
    for module in COMMAND_MODULES:
        handlers.update(module.register(sub))
    return parser, handlers


def run(argv: list[str]) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(reading.glue_option_values(argv))
    from .. import summary
    from ..connect import open_journal

    summary.set_utc(bool(args.utc))

    try:
        journal = open_journal(args.journal, follow_server=args.command is None)  # the TUI follows a server
    except JournalError as exc:
        error(str(exc))
        return 2
    if args.command is None:
        from ..app import run_app

        return run_app(journal, utc=args.utc)
    try:
        return handlers[args.command](journal, args, sys.stdout)
    except JournalError as exc:
        error(str(exc))
        return 2
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        journal.close()
