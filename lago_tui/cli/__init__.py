"""The scriptable CLI over the journal. Expected failures print one line and exit 2, never a traceback.

Each command lives in a module of this package (``reading``, ``writing``, ...) that adds its subparser in
``register`` and returns its handlers; a handler gets the journal (:class:`~lago_tui.journal.JournalAPI`,
a file or a server), the parsed arguments and the output (:class:`~.output.Output`: everything written to it
is escaped for the terminal by construction), and returns the exit status.

Exit status: 0 done; 2 an error (one ``lago-tui: error: ...`` line on stderr: bad arguments, a journal or file
problem, output that cannot be written, an unexpected error); 130 interrupted (Ctrl-C), nothing written;
1 when the reader of the output went away (``lago-tui log S | head``), silently.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..journal import JournalError
from ..journal.connection import CommittedInterrupt
from . import analysis, completion, manage, reading, serving, writing
from .output import PROG, Output, OutputError, OutputFileError, error, stdout

COMMAND_MODULES = (reading, writing, analysis, manage, serving, completion)
DEBUG_ENV = "LAGO_TUI_DEBUG"  # set: an unexpected error shows its traceback instead of one line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, like every other failure
        error(f"{message} (see {self.prog} --help)")
        raise SystemExit(2)

    def print_help(self, file: Any = None) -> None:
        """Help into a closed pipe is quiet, into a full disk one line (Python 3.11.2's argparse lets the
        OSError out as a traceback; later versions swallow it)."""
        try:
            super().print_help(file)
        except BrokenPipeError:
            _silence_stdout()
            raise SystemExit(1) from None
        except OSError as exc:
            _silence_stdout()
            error(f"cannot write the output: {exc.strerror or exc}")
            raise SystemExit(2) from None


def _journal_path(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("--journal needs a path (leave it out for the default journal)")
    return text


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = _Parser(prog=PROG, description="Browse and create AI-agent sessions in a Lago event journal.")
    parser.add_argument("--journal", metavar="PATH", type=_journal_path,
                        help="journal file or server URL (default: $LAGO_JOURNAL, else the user data dir)")
    parser.add_argument("--utc", action="store_true", default=None, help="show times in UTC (default: local time, $TZ)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    handlers: dict = {}
    for module in COMMAND_MODULES:
        handlers.update(module.register(sub))
    return parser, handlers


def run(argv: list[str]) -> int:
    try:
        return _run(argv)
    except KeyboardInterrupt:
        error("interrupted")
        return 130


def _run(argv: list[str]) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(reading.glue_option_values(argv))
    if args.command is not None and sys.stdout is None and not getattr(args, "output", None):
        error("standard output is closed; nothing was done")  # `new ... >&-` would make a session nobody sees
        return 2
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
    out = stdout()
    try:
        status = handlers[args.command](journal, args, out)
        out.flush()
        return status
    except OutputError as exc:
        # What could not be written is still buffered: Python would try it again at exit and, failing,
        # exit 120 with "Exception ignored" on stderr.
        _silence_stdout()
        if exc.broken_pipe:
            return 1
        error(str(exc))
        return 2
    except (JournalError, OutputFileError) as exc:
        error(str(exc))
        return _status(exc)
    except KeyboardInterrupt as exc:  # a write in progress is rolled back, unless its commit was under way
        error(str(exc) if isinstance(exc, CommittedInterrupt) else "interrupted; nothing unfinished was written")
        return 130
    except Exception as exc:  # a defect: still one line (set LAGO_TUI_DEBUG=1 for the traceback)
        if os.environ.get(DEBUG_ENV):
            raise
        error(f"unexpected error ({type(exc).__name__}): {exc}")
        return 2
    finally:
        journal.close()


def _status(exc: BaseException) -> int:
    from ..journal.errors import Interrupted

    return 130 if isinstance(exc, Interrupted) else 2


def _silence_stdout() -> None:
    """After a broken pipe: nothing more may reach fd 1 (not even Python's flush at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


__all__ = ["Output", "build_parser", "run"]
