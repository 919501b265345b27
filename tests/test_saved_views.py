"""Saved views: persisted named queries, atomic writes, tolerant of a bad file, never a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lago_tui.journal.query import QueryError
from lago_tui.saved_views import SavedView, SavedViewError, SavedViews


def test_save_list_get_rename_delete_persist(tmp_path: Path) -> None:
    views = SavedViews()  # the config dir comes from $LAGO_TUI_CONFIG_DIR (conftest)
    assert views.path == tmp_path / "config" / "views.json" and views.all() == []
    views.save("timeline", "failures", "status:error")
    views.save("timeline", "Slow tools", 'dur:>5s tool:"web search"')
    views.save("list", "failures", "failures:>0 -state:closed")
    again = SavedViews()
    assert [(v.scope, v.name) for v in again.all()] == [
        ("list", "failures"), ("timeline", "failures"), ("timeline", "Slow tools")]
    assert again.all("timeline")[1] == SavedView("Slow tools", "timeline", 'dur:>5s tool:"web search"')
    assert again.get("timeline", "slow TOOLS").name == "Slow tools"  # names compare case-insensitively
    again.save("timeline", "FAILURES", "kind:error")  # replaces, takes the new spelling
    assert [(v.name, v.query) for v in SavedViews().all("timeline")][0] == ("FAILURES", "kind:error")
    with pytest.raises(SavedViewError, match="already exists"):
        again.save("timeline", "failures", "x", replace=False)
    assert again.rename("timeline", "slow tools", "slow").name == "slow"
    with pytest.raises(SavedViewError, match="already exists"):
        again.rename("timeline", "slow", "Failures")
    assert again.delete("list", "failures") and not again.delete("list", "failures")
    assert [(v.scope, v.name) for v in SavedViews().all()] == [("timeline", "FAILURES"), ("timeline", "slow")]
    assert json.loads(views.path.read_text())["version"] == 1
    assert [p.name for p in views.path.parent.iterdir()] == ["views.json"]  # no temporary files left


@pytest.mark.parametrize(("name", "message"), [
    ("", "needs a name"), (" x", "spaces"), ("x" * 61, "too long"), ("a\x1b[31m", "control or invisible"),
])
def test_bad_names_are_refused(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(SavedViewError, match=message):
        SavedViews(tmp_path / "v.json").save("list", name, "x")
    assert not (tmp_path / "v.json").exists()


def test_bad_queries_are_refused_with_offsets(tmp_path: Path) -> None:
    views = SavedViews(tmp_path / "v.json")
    with pytest.raises(QueryError) as err:
        views.save("list", "oops", "tokens:>lots")
    assert (err.value.start, err.value.end) == (0, 12)
    with pytest.raises(QueryError):
        views.save("timeline", "oops", "model:x")  # a list field in a timeline view
    assert views.all() == []


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'{"views": 3}', b"\xff\xfe\x00garbage"])
def test_a_corrupt_file_reads_as_empty_and_is_kept_aside_on_save(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "views.json"
    path.write_bytes(content)
    views = SavedViews(path)
    assert views.all() == [] and views.problem
    views.save("list", "mine", "state:open")
    assert (tmp_path / "views.json.corrupt").read_bytes() == content
    assert [v.name for v in SavedViews(path).all()] == ["mine"] and views.problem is None


def test_bad_entries_are_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "views.json"
    path.write_text(json.dumps({"version": 1, "views": [
        {"name": "ok", "scope": "list", "query": "x"}, {"name": "", "scope": "list", "query": "x"},
        {"name": "y", "scope": "elsewhere", "query": "x"}, "junk", {"name": "OK", "scope": "list", "query": "dup"},
    ]}))
    views = SavedViews(path)
    assert [v.name for v in views.all()] == ["ok"]
    assert views.problem.endswith("4 entries could not be read and were skipped")


def test_a_newer_file_is_read_but_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "views.json"
    original = json.dumps({"version": 9, "views": [{"name": "v", "scope": "list", "query": "x"}], "more": 1})
    path.write_text(original)
    views = SavedViews(path)
    assert [v.name for v in views.all()] == ["v"] and "newer" in views.problem
    with pytest.raises(SavedViewError, match="newer"):
        views.save("list", "w", "y")
    assert path.read_text() == original


def test_an_unusable_config_dir_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(SavedViewError, match=r"cannot save views to .*a-file/views.json: (File exists|Not a directory)"):
        SavedViews(tmp_path / "a-file" / "views.json").save("list", "v", "x")


def test_a_write_that_fails_midway_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "views.json"
    views = SavedViews(path)
    views.save("list", "first", "a")
    before = path.read_text()

    def fail(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(SavedViewError, match="No space left on device"):
        views.save("list", "second", "b")
    assert path.read_text() == before and sorted(p.name for p in tmp_path.iterdir()) == ["views.json"]
