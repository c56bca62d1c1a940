"""The compiled-index cache: built once, reused while the sources are unchanged, rebuilt when one changes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from knowledge import KnowledgeBase, PortAnswer, ServiceAnswer, _cache
from knowledge._cache import CACHE_FILE
from knowledge._paths import IANA_FILE


def _load(data: Path, sources: Path) -> KnowledgeBase:
    return KnowledgeBase.load(data, source_dir=sources)


def test_first_load_compiles_and_second_reuses(tmp_path: Path, sources: Path) -> None:
    """The cache file appears under data_dir/cache and the next load does not compile."""
    assert _load(tmp_path, sources).rebuilt
    assert (tmp_path / "cache" / CACHE_FILE).is_file()
    again = _load(tmp_path, sources)
    assert not again.rebuilt
    assert again.iana_records == 14_512


def test_default_data_dir_ignores_the_environment(
    tmp_path: Path, sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without data_dir, the cache goes under ~/.local/share/portbot: PORTBOT_DATA_DIR is the settings' to read."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(tmp_path / "ignored"))
    KnowledgeBase.load(source_dir=sources)
    assert (tmp_path / "home" / ".local" / "share" / "portbot" / "cache" / CACHE_FILE).is_file()
    assert not (tmp_path / "ignored").exists()


def test_editing_a_source_rebuilds(tmp_path: Path, sources: Path) -> None:
    """A changed ports.toml is noticed on the next load, and its new content answers."""
    _load(tmp_path, sources)
    ports = sources / "ports.toml"
    ports.write_text(ports.read_text().replace('aliases = ["valheim"]', 'aliases = ["valheim", "vikings"]'))
    kb = _load(tmp_path, sources)
    assert kb.rebuilt
    answer = kb.lookup("vikings")
    assert isinstance(answer, ServiceAnswer) and answer.service.id == "valheim"


def test_same_size_edit_rebuilds(tmp_path: Path, sources: Path) -> None:
    """The key is the content hash, so an edit that keeps the size (and maybe the mtime) still counts."""
    _load(tmp_path, sources)
    ports = sources / "ports.toml"
    before = ports.read_text()
    after = before.replace("port = 2456", "port = 2459")
    assert len(after) == len(before) and after != before
    ports.write_text(after)
    kb = _load(tmp_path, sources)
    assert kb.rebuilt
    answer = kb.lookup("2459")
    assert isinstance(answer, PortAnswer) and [u.service.id for u in answer.used_by] == ["valheim"]


def test_corrupt_cache_is_rebuilt(tmp_path: Path, sources: Path) -> None:
    """A truncated or garbage cache file costs a rebuild, never an error."""
    _load(tmp_path, sources)
    (tmp_path / "cache" / CACHE_FILE).write_bytes(b"\x00garbage")
    kb = _load(tmp_path, sources)
    assert kb.rebuilt and kb.iana_records == 14_512


def test_cache_cut_short_is_rebuilt(tmp_path: Path, sources: Path) -> None:
    """A cache file missing its last bytes (a full disk, a copy cut off) is rebuilt, not read half-way."""
    _age(sources)
    _load(tmp_path, sources)
    cache = tmp_path / "cache" / CACHE_FILE
    cache.write_bytes(cache.read_bytes()[:-1000])
    kb = _load(tmp_path, sources)
    assert kb.rebuilt and kb.iana_records == 14_512


def test_cache_of_another_format_is_rebuilt(
    tmp_path: Path, sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache written in an older layout is never read, even though the sources' sizes and mtimes match."""
    _age(sources)
    _load(tmp_path, sources)
    monkeypatch.setattr(_cache, "_VERSION", (_cache.FORMAT + 1, *_cache._VERSION[1:]))
    assert _load(tmp_path, sources).rebuilt


def test_unwritable_cache_still_answers(tmp_path: Path, sources: Path) -> None:
    """When the cache directory cannot be created, the index is compiled in memory and works."""
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    kb = _load(blocker, sources)
    assert isinstance(kb.lookup("22"), PortAnswer)


def test_rebuild_forces_compilation(tmp_path: Path, sources: Path) -> None:
    """rebuild=True ignores a current cache (for `portbot knowledge build`)."""
    _load(tmp_path, sources)
    assert KnowledgeBase.load(tmp_path, source_dir=sources, rebuild=True).rebuilt


def test_updated_iana_file_in_data_dir_overrides_the_packaged_one(tmp_path: Path, sources: Path) -> None:
    """An IANA CSV in data_dir (written by the updater) is the one indexed."""
    _load(tmp_path, sources)
    packaged = (sources / IANA_FILE).read_text(encoding="utf-8")
    (tmp_path / IANA_FILE).write_text(packaged.replace("cbt,7777,tcp", "newname,7777,tcp"), encoding="utf-8")
    kb = _load(tmp_path, sources)
    assert kb.rebuilt
    answer = kb.lookup("7777/tcp")
    assert isinstance(answer, PortAnswer)
    assert {e.name for e in answer.iana} == {"newname"}


def _age(sources: Path, seconds: int = 3600) -> None:
    """Set every source's mtime into the past, as for files that have not changed in a while."""
    when = time.time_ns() - seconds * 1_000_000_000
    for path in sources.iterdir():
        os.utime(path, ns=(when, when))


def _no_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(sources: object) -> str:
        raise AssertionError("the sources were hashed")

    monkeypatch.setattr(_cache, "source_key", refuse)


def test_settled_unchanged_sources_are_not_hashed_again(
    tmp_path: Path, sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sources untouched since the cache was written are recognised by size and mtime alone."""
    _age(sources)
    _load(tmp_path, sources)
    _no_hashing(monkeypatch)
    assert not _load(tmp_path, sources).rebuilt


def test_touched_but_unchanged_sources_reuse_the_cache(
    tmp_path: Path, sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New mtimes with the same content (a checkout, a copy) cost a hash, not a rebuild, and are remembered."""
    _age(sources, 7200)
    _load(tmp_path, sources)
    _age(sources, 3600)
    assert not _load(tmp_path, sources).rebuilt
    _no_hashing(monkeypatch)
    assert not _load(tmp_path, sources).rebuilt


def test_fresh_sources_are_always_hashed(tmp_path: Path, sources: Path) -> None:
    """A file written moments before the cache may change again within the same mtime tick: a same-size edit
    that even restores the mtime is still noticed."""
    ports = sources / "ports.toml"
    _load(tmp_path, sources)
    before = ports.stat()
    ports.write_text(ports.read_text().replace("port = 2456", "port = 2459"))
    os.utime(ports, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert ports.stat().st_size == before.st_size
    kb = _load(tmp_path, sources)
    assert kb.rebuilt
    answer = kb.lookup("2459")
    assert isinstance(answer, PortAnswer) and [u.service.id for u in answer.used_by] == ["valheim"]


def test_settled_sources_edited_later_are_rebuilt(tmp_path: Path, sources: Path) -> None:
    """An edit to a settled source changes its mtime, so the cache is checked and rebuilt."""
    _age(sources)
    _load(tmp_path, sources)
    ports = sources / "ports.toml"
    ports.write_text(ports.read_text().replace("port = 2456", "port = 2459"))
    assert _load(tmp_path, sources).rebuilt
