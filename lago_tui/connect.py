"""Which journal a ``--journal`` target (or ``$LAGO_JOURNAL``) names, opened behind the one interface.

- an ``http://`` or ``https://`` URL: a server (:class:`~lago_tui.remote.RemoteJournal`), with the token
  from ``$LAGO_TOKEN``;
- a file that a running ``lago-tui serve`` owns (it leaves ``FILE.serve.json`` beside it): that server, with
  the URL and token the sidecar gives, so nobody here fights the server for the file's lock;
- any other path: the DuckDB file itself (:class:`~lago_tui.journal.Journal`).

A long-running user of a path (the TUI) asks with ``follow_server=True`` and gets a
:class:`~lago_tui.remote.served_file.ServedFile`, which also switches when a server starts or stops later.

Everything that decides between implementations lives here, so screens and commands only ever see a
:class:`~lago_tui.journal.JournalAPI`.
"""

from __future__ import annotations

from pathlib import Path

from .journal import Journal, JournalAPI


def open_journal(target: str | None, *, follow_server: bool = False) -> JournalAPI:
    """The journal ``target`` names (None: ``$LAGO_JOURNAL``, else the default file). A file is opened
    when first used; a URL is contacted when first used; a served file's sidecar is checked now."""
    import os

    from .paths import ENV_JOURNAL, default_journal

    if target is None:
        target = os.environ.get(ENV_JOURNAL) or None
    if target is not None and _is_url(target):
        from .remote import RemoteJournal

        return RemoteJournal(target)
    path = Path(target).expanduser() if target else default_journal()
    served = _served(path)
    if follow_server:
        from .remote.served_file import ServedFile

        return ServedFile(path, served)
    if served is not None:
        return served
    return Journal(path)


def _is_url(target: str) -> bool:
    scheme, sep, _ = target.partition("://")
    return bool(sep) and scheme.lower() in ("http", "https")


def _served(path: Path) -> JournalAPI | None:
    """The server that owns ``path`` right now, per its sidecar, or None (no sidecar, or a stale one)."""
    from .sidecar import sidecar_path

    if not sidecar_path(path).exists():  # the common case: one stat, nothing imported
        return None
    from .remote.sidecar import live_server

    return live_server(path)
