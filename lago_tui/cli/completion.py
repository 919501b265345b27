"""Shell completion: ``lago-tui completion bash|zsh|fish`` prints a script to load in the shell.

The scripts are thin: on TAB they run ``lago-tui __complete CWORD WORD...`` (a hidden command) and offer
what it prints, one candidate a line. The candidates come from the same argparse parser the CLI runs
(commands, options, choices), and from the journal: session names (ids for names a shell could not
type back), the branches of the SESSION on the line, and the kind names ``--kind`` takes. A line
``__files__`` asks the shell for its own file completion. Completing never writes and never prints errors.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from ..journal import JournalAPI

FILES = "__files__"
SHELLS = ("bash", "zsh", "fish")

BASH = r"""# lago-tui completion for bash. Load it with:  source <(lago-tui completion bash)
_lago_tui_complete() {
    local IFS=$'\n' line out
    out=$("${COMP_WORDS[0]}" __complete "$COMP_CWORD" "${COMP_WORDS[@]}" 2>/dev/null)
    COMPREPLY=()
    if [[ "$out" == "__files__" ]]; then
        COMPREPLY=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}"))
        return
    fi
    for line in $out; do
        COMPREPLY+=("$(printf '%q' "$line")")
    done
}
complete -o bashdefault -F _lago_tui_complete lago-tui
"""

ZSH = r"""#compdef lago-tui
# lago-tui completion for zsh. Load it with:  source <(lago-tui completion zsh)   (after compinit)
_lago_tui() {
    local out
    local -a candidates
    out=$("${words[1]}" __complete $((CURRENT - 1)) "${words[@]}" 2>/dev/null)
    if [[ "$out" == "__files__" ]]; then
        _files
        return
    fi
    candidates=("${(@f)out}")
    compadd -Q -a candidates 2>/dev/null || compadd -a candidates
}
compdef _lago_tui lago-tui
"""

FISH = r"""# lago-tui completion for fish. Load it with:  lago-tui completion fish | source
function __lago_tui_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out (command lago-tui __complete (math (count $words) - 1) $words 2>/dev/null)
    if test "$out" = "__files__"
        __fish_complete_path (commandline -ct)
    else
        printf '%s\n' $out
    end
end
complete -c lago-tui -f -a '(__lago_tui_complete)'
"""

# Options whose value is a branch of the SESSION on the line, a kind, or a file.
_VALUE_KINDS = {"--branch": "branches", "--from": "branches", "--kind": "kinds", "-o": "files", "--output": "files",
                "--journal": "files"}


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)")
    p.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    p = sub.add_parser("__complete")  # hidden: no help, so it is not listed
    p.add_argument("cword", type=int)
    p.add_argument("words", nargs=argparse.REMAINDER)
    return {"completion": cmd_completion, "__complete": cmd_complete}


def cmd_completion(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    out.write({"bash": BASH, "zsh": ZSH, "fish": FISH}[args.shell])
    return 0


def cmd_complete(journal: JournalAPI, args: argparse.Namespace, out: TextIO) -> int:
    try:
        candidates = complete(args.words, args.cword)
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the user's prompt
        candidates = []
    out.write("".join(c + "\n" for c in candidates))
    return 0


def complete(words: list[str], cword: int) -> list[str]:
    """Candidates for ``words[cword]`` (``words[0]`` is the program), filtered by what is typed."""
    from . import build_parser

    parser, _ = build_parser()
    current = words[cword] if 0 <= cword < len(words) else ""
    top = _options(parser)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = {name: p for name, p in sub.choices.items() if not name.startswith("_")}
    journal_path: str | None = None
    command: str | None = None
    positionals: list[str] = []
    i = 1
    while i < cword:
        word = words[i]
        opts = _options(commands[command]) if command else top
        if word == "--journal" and i + 1 < cword:
            journal_path = words[i + 1]
        elif word.startswith("--journal="):
            journal_path = word.partition("=")[2]
        if word in opts and opts[word]:
            i += 2  # the option and its value
            continue
        if not word.startswith("-") or word == "-":
            if command is None:
                if word not in commands:
                    return []
                command = word
            else:
                positionals.append(word)
        i += 1
    prev = words[cword - 1] if cword >= 1 else ""
    if command is None:
        if top.get(prev):
            return _value(prev, None, journal_path, current, None)
        if current.startswith("-"):
            return _matching(top, current)
        return _matching(commands, current)
    parser_of = commands[command]
    opts = _options(parser_of)
    session = positionals[0] if positionals and _positionals(parser_of)[:1] == ["session"] else None
    if opts.get(prev):
        return _value(prev, opts[prev], journal_path, current, session)
    if current.startswith("-"):
        return _matching(opts, current)
    names = _positionals(parser_of)
    if not names:
        return []
    action = next(a for a in parser_of._actions if a.dest == names[min(len(positionals), len(names) - 1)])
    if len(positionals) >= len(names) and action.nargs not in ("+", "*"):
        return []
    if action.choices:
        return _matching(action.choices, current)
    if action.dest == "session":
        return _sessions(journal_path, current)
    if action.dest == "files":
        return [FILES]
    return []


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action | None]:
    """Option string -> its action when it takes a value, else None."""
    out: dict[str, argparse.Action | None] = {}
    for action in parser._actions:
        for opt in action.option_strings:
            out[opt] = action if action.nargs != 0 else None
    return out


def _positionals(parser: argparse.ArgumentParser) -> list[str]:
    return [a.dest for a in parser._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]


def _matching(candidates, current: str) -> list[str]:  # noqa: ANN001
    return sorted(c for c in candidates if c.startswith(current))


def _value(option: str, action: argparse.Action | None, journal_path: str | None, current: str,
           session: str | None) -> list[str]:
    if action is not None and action.choices:
        return _matching(action.choices, current)
    kind = _VALUE_KINDS.get(option)
    if kind == "files":
        return [FILES]
    if kind == "kinds":
        from ..journal.kinds import FAMILIES, KNOWN_KINDS, ROLES

        return _matching({*FAMILIES, *ROLES, *KNOWN_KINDS}, current)
    if kind == "branches" and session:
        journal = _journal(journal_path)
        try:
            detail = journal.session(session)
        finally:
            journal.close()
        return _matching([b.name for b in detail.branches if _typeable(b.name)], current)
    return []


def _journal(path: str | None) -> JournalAPI:
    from ..connect import open_journal

    journal = open_journal(path)
    journal.idle_release = 0
    return journal


def _typeable(name: str) -> bool:
    """Whether a shell can offer the name as is (no control or invisible characters, one line)."""
    from .output import one_line

    return bool(name) and one_line(name) == name


def _sessions(journal_path: str | None, current: str) -> list[str]:
    journal = _journal(journal_path)
    try:
        if not journal.exists():
            return []
        sessions = journal.list_sessions(sort="last_activity")
    finally:
        journal.close()
    out: list[str] = []
    seen: set[str] = set()
    for s in sessions:
        name = s.name if _typeable(s.name) else s.session_id
        if name not in seen and name.startswith(current) and _typeable(name):
            seen.add(name)
            out.append(name)
    if current and not out:  # an id typed by hand
        out = [s.session_id for s in sessions if s.session_id.startswith(current) and _typeable(s.session_id)]
    return out
