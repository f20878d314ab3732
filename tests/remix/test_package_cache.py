"""The package cache is verified before it is trusted (E3): a truncated, replaced, linked-out or
missing file makes the package fetched again once (offline: left out with one line), a fresh
copy that still does not verify fails in one line, and killed fetches leave nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from remix.errors import RemixError
from remix.standin import packages
from remix.standin.packages import PackageUnavailable, obtain, package_dir, seal, verify
from remix.standin.recorded import gather

NAME = "bucklespring-data"
WAV = "usr/share/buckle/wav"


def _unpack(dest: Path) -> None:
    """What the real package holds for two keys (short clicks)."""
    folder = dest / WAV
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(1600) / 32000
    for key, hz in (("1e", 3000.0), ("1f", 2500.0)):
        for press in (0, 1):
            sf.write(folder / f"{key}-{press}.wav", 0.3 * np.sin(2 * np.pi * hz * t) * np.exp(-t * 60), 32000)
    (dest / "usr/share/doc").mkdir(parents=True, exist_ok=True)
    (dest / "usr/share/doc/copyright").write_text("MIT\n")
    os.symlink("../../doc/copyright", dest / WAV / "COPYING")  # a link inside the package, as Debian has


@pytest.fixture
def fetches(monkeypatch):
    """A fake apt-get download + unpack that counts its calls."""
    calls = []

    def fetch(package, work, unpacked):
        calls.append(package.name)
        _unpack(unpacked)
        return f"{package.name}_1.0_all.deb"

    monkeypatch.setattr(packages, "_fetch_debian", fetch)
    monkeypatch.delenv("SEDREMIX_OFFLINE_PACKAGES", raising=False)
    return calls


def test_a_fetched_package_records_its_tree_and_verifies(fetches, tmp_path):
    dest = obtain(NAME, cache_root=tmp_path)
    assert fetches == [NAME] and verify(dest) is None
    listed = __import__("json").loads((dest / "package.json").read_text())["files"]
    assert listed[f"{WAV}/COPYING"] == "link:../../doc/copyright"
    assert all(v.startswith("sha256:") for k, v in listed.items() if not k.endswith("COPYING"))
    assert obtain(NAME, cache_root=tmp_path) == dest and fetches == [NAME]  # verified, not fetched again


@pytest.mark.parametrize(
    "damage, problem",
    [
        ("truncate", "changed"),
        ("private", "link leaving"),
        ("remove", "missing"),
        ("add", "not from the package"),
    ],
)
def test_a_damaged_package_is_fetched_again_once(fetches, tmp_path, damage, problem):
    dest = obtain(NAME, cache_root=tmp_path)
    victim = dest / WAV / "1e-0.wav"
    good = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(good[: len(good) // 3])
    elif damage == "private":  # a package file replaced by a link to a private recording
        private = tmp_path / "private.wav"
        private.write_bytes(good)
        victim.unlink()
        victim.symlink_to(private)
    elif damage == "remove":
        victim.unlink()
    else:
        (dest / WAV / "9z-0.wav").write_bytes(good)
    assert problem in verify(dest)
    assert obtain(NAME, cache_root=tmp_path) == dest
    assert fetches == [NAME, NAME] and verify(dest) is None
    assert not victim.is_symlink() and victim.read_bytes() == good
    assert not (dest / WAV / "9z-0.wav").exists()


def test_offline_a_damaged_package_is_left_out_in_one_line(fetches, tmp_path, monkeypatch):
    dest = obtain(NAME, cache_root=tmp_path)
    (dest / WAV / "1f-1.wav").write_bytes(b"RIFF")
    monkeypatch.setenv("SEDREMIX_OFFLINE_PACKAGES", "1")
    with pytest.raises(PackageUnavailable, match="does not verify: 1 file"):
        obtain(NAME, cache_root=tmp_path)
    gathered = gather(tmp_path)
    assert NAME not in gathered.packages
    assert any(note.startswith(f"{NAME} could not be had") and "does not verify" in note for note in gathered.notes)
    assert not any(r.package == NAME for found in gathered.recordings.values() for r in found)


def test_a_fresh_copy_that_does_not_verify_fails_in_one_line(fetches, tmp_path, monkeypatch):
    dest = obtain(NAME, cache_root=tmp_path)
    (dest / WAV / "1f-1.wav").write_bytes(b"RIFF")

    def bad_seal(folder, **kwargs):  # a disk that changes what was written
        seal(folder, **kwargs)
        (Path(folder) / WAV / "1e-1.wav").write_bytes(b"RIFF")

    monkeypatch.setattr(packages, "seal", bad_seal)
    with pytest.raises(RemixError, match="fetched again .* does not verify either") as info:
        obtain(NAME, cache_root=tmp_path)
    assert "\n" not in str(info.value)


def test_a_record_without_a_file_list_is_fetched_again_online_and_kept_offline(fetches, tmp_path, monkeypatch):
    dest = package_dir(tmp_path, NAME)
    _unpack(dest)
    (dest / "package.json").write_text('{"package": "bucklespring-data", "file": "old.deb"}')
    monkeypatch.setenv("SEDREMIX_OFFLINE_PACKAGES", "1")
    assert obtain(NAME, cache_root=tmp_path) == dest and fetches == []
    monkeypatch.delenv("SEDREMIX_OFFLINE_PACKAGES")
    assert obtain(NAME, cache_root=tmp_path) == dest and fetches == [NAME] and verify(dest) is None


def test_a_killed_fetch_leaves_its_temporary_folder_only_until_the_next_fetch(fetches, tmp_path):
    parent = package_dir(tmp_path, NAME).parent
    parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = parent / f".{NAME}-{dead.stdout.strip()}-abc"
    (stale / "unpacked").mkdir(parents=True)
    live = parent / f".{NAME}-{os.getpid()}-xyz"  # a fetch still running (this process)
    live.mkdir()
    obtain(NAME, cache_root=tmp_path)
    assert not stale.exists() and live.exists()
