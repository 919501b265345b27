"""Command palette entries for the analysis views of a screen that has them (the session detail screen).

A screen lists this provider in its ``COMMANDS``; an entry appears only if the screen has the action.
Titles and help are fixed strings of ours (the palette parses them as markup).
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

__all__ = ["ANALYSIS_COMMANDS", "AnalysisCommands"]

# (title, help, action name on the screen)
ANALYSIS_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("State at this event", "What the agent knew and had done at the highlighted event (s)", "toggle_state"),
    ("Compare with another branch", "Events after the fork, side by side, with totals (d)", "compare"),
    ("Lane graph", "The branches as lanes against time (L)", "lane_graph"),
    ("Integrity problems", "Unfinished calls and runs, orphan results, clocks going backwards... (!)", "problems"),
    ("Select a range", "Start a selection at the highlighted event; move to extend it (v)", "select_range"),
    ("Copy as context", "The event, the selection or the branch as JSON Lines, Markdown or OpenAI messages (y)",
     "copy_menu"),
    ("Save to a file", "The event, the selection, the branch or the session, in a format of your choice (W)",
     "save_to_file"),
)


class AnalysisCommands(Provider):
    def _commands(self) -> list[tuple[str, str, object]]:
        screen = self.screen
        found = []
        for title, help_text, action in ANALYSIS_COMMANDS:
            method = getattr(screen, f"action_{action}", None)
            if callable(method):
                found.append((title, help_text, method))
        return found

    async def discover(self) -> Hits:
        for title, help_text, method in self._commands():
            yield DiscoveryHit(title, partial(method), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, method in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(method), help=help_text)
