"""The embedded stand-in source corpora, written in the two real on-disk layouts.

Without the real TAU Urban Acoustic Scenes 2019 and FSDKaggle2018 downloads, the
toolkit builds its corpus from procedurally generated stand-ins: acoustic scenes
(:mod:`remix.standin.scene_synth`) and sound events
(:mod:`remix.standin.event_synth`, partly played from the TimGM6mb General MIDI
SoundFont by :mod:`remix.sources.sampler`). They are written once,
deterministically, as::

    <root>/
        README.md, standin.json, LICENSE-TimGM6mb.txt
        TAU-urban-acoustic-scenes-2019-development/   (meta.csv, audio/, evaluation_setup/)
        FSDKaggle2018/                                (audio_train/, audio_test/, meta/)

so that :func:`remix.sources.read_tau2019` and :func:`remix.sources.read_fsd2018`
read them exactly like the real corpora.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from remix.atomic import pid_alive, read_json
from remix.environment import env_path
from remix.errors import RemixError
from remix.labels import CITIES, EVENT_LABELS, SCENE_LABELS
from remix.lock import waiting_lock
from remix.progress import progress_bar
from remix.sources.fsd2018 import META_DIR, TEST_CSV, TEST_DIR, TRAIN_CSV, TRAIN_DIR
from remix.sources.tau2019 import TAU2019_DIRNAME
from remix.standin import event_synth, recorded, scene_synth
from remix.standin.notice import STANDIN_NOTICE, describe_textures, origin_table
from remix.standin.recorded import RecordedSources, gather

GENERATOR_VERSION = 2
"""Bumped whenever the generated audio changes; part of the stand-in's identity."""

RECORDED_VERSION = 4
"""Bumped whenever the recorded stand-in's use of its packages changes."""

CACHE_NAME = f"synthetic-v{GENERATOR_VERSION}"
"""Folder name of the default (procedural) stand-in under the cache root."""

STANDIN_KINDS: tuple[str, ...] = ("procedural", "recorded", "recorded-gpl")
"""What the stand-in's events are made of: procedural (synthesised, partly from TimGM6mb),
recorded (recordings from openly licensed packages where they cover a class,
:mod:`remix.standin.recorded`; procedural for the rest) or recorded-gpl (recorded, plus the
packages whose recordings are under the GPL, which the stand-in and its corpora then inherit)."""

SCENE_RATE = 48_000
EVENT_RATE = 44_100
EVENTS_DIRNAME = "FSDKaggle2018"
LICENSES: tuple[str, ...] = ("Attribution", "Attribution Noncommercial", "Creative Commons 0")
_LICENSE_P = (0.55, 0.15, 0.30)


@dataclass(frozen=True)
class SyntheticSources:
    """Where a written stand-in lies.

    Attributes
    ----------
    scenes_dir : Path
        The ``TAU-urban-acoustic-scenes-2019-development`` folder.
    events_dir : Path
        The folder holding ``FSDKaggle2018.audio_train/`` etc.
    notes : tuple of str
        Lines worth telling the user (a package of recordings that could not be had).
    """

    scenes_dir: Path
    events_dir: Path
    notes: tuple[str, ...] = ()

    @property
    def root(self) -> Path:
        """The stand-in folder holding both corpora, README.md and standin.json."""
        return self.scenes_dir.parent


@dataclass(frozen=True)
class _SceneItem:
    filename: str
    scene: str
    city: str
    identifier: str
    location: int
    segment: int
    spawn_key: tuple[int, ...]


@dataclass(frozen=True)
class _EventItem:
    fname: str
    label: str
    split: str
    manually_verified: int
    usage: str
    freesound_id: int
    license: str
    duration_s: float
    spawn_key: tuple[int, ...]
    origin: str = ""
    attribution: str = ""


def _plan_scenes(cities: Sequence[str], scenes_per_pair: int) -> list[_SceneItem]:
    """Scene recordings: per city, each scene gets locations of up to 2 segments each."""
    items = []
    for ci, city in enumerate(cities):
        location = 0
        for si, scene in enumerate(SCENE_LABELS):
            for k in range(scenes_per_pair):
                if k and k % 2 == 0:
                    location += 1
                segment = k % 2
                name = f"audio/{scene}-{city}-{location}-{segment}-a.wav"
                city_code = CITIES.index(city) if city in CITIES else 100 + ci
                items.append(
                    _SceneItem(name, scene, city, f"{city}-{location}", location, segment, (0, city_code, si, k))
                )
            location += 1
    return items


def _plan_events(seed: int, *, train_per_label: int, verified_per_label: int, test_per_label: int) -> list[_EventItem]:
    """Event clips with their metadata; each drawn from its own child seed."""
    items = []
    used: set[str] = set()
    used_ids: set[int] = set()
    for li, label in enumerate(EVENT_LABELS):
        rows = [("train", k) for k in range(train_per_label)] + [("test", k) for k in range(test_per_label)]
        for split, k in rows:
            key = (1, li, 0 if split == "train" else 1, k)
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key + (0,)))
            fname = f"{int(rng.integers(0, 2**32)):08x}.wav"
            while fname in used:
                fname = f"{int(rng.integers(0, 2**32)):08x}.wav"
            used.add(fname)
            fsid = int(rng.integers(1_000, 450_000))
            while fsid in used_ids:
                fsid = int(rng.integers(1_000, 450_000))
            used_ids.add(fsid)
            license_ = str(LICENSES[int(rng.choice(len(LICENSES), p=_LICENSE_P))])
            verified = int(split == "test" or k < verified_per_label)
            usage = ("Public" if rng.random() < 0.19 else "Private") if split == "test" else ""
            duration = event_synth.draw_duration(label, rng)
            items.append(_EventItem(fname, label, split, verified, usage, fsid, license_, duration, key))
    return items


def _write_wav(path: Path, audio: np.ndarray, rate: int, subtype: str) -> None:
    sf.write(str(path), audio, rate, subtype=subtype, format="WAV")


def _render_scene(
    item: _SceneItem, seed: int, duration_s: float, audio_dir: str, textures: tuple[str, ...] = ()
) -> None:
    """Write one scene recording: procedural, with ``textures`` (recordings) mixed in when given."""
    ss = np.random.SeedSequence(seed, spawn_key=item.spawn_key)
    audio = scene_synth.render_scene(
        item.scene,
        city=item.city,
        location=item.location,
        seed=ss,
        sample_rate=SCENE_RATE,
        duration_s=duration_s,
        city_seed=seed,
    )  # (N, 2)
    if textures:  # a generator of their own: the procedural bed stays the same
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=item.spawn_key + (1,)))
        audio = recorded.texture(audio, textures, rng=rng, sample_rate=SCENE_RATE)
    _write_wav(Path(audio_dir) / Path(item.filename).name, audio, SCENE_RATE, "PCM_24")


def _render_event(
    item: _EventItem, seed: int, folder: str, recordings: tuple = (), soundfont: str | None = None
) -> None:
    """Write one event clip: played from ``recordings`` when given, else procedural (``soundfont``
    playing the sampled classes, default TimGM6mb)."""
    ss = np.random.SeedSequence(seed, spawn_key=item.spawn_key + (1,))
    if recordings:
        rng = np.random.default_rng(ss)
        audio, _ = recorded.render(
            item.label, list(recordings), rng=rng, sample_rate=EVENT_RATE, duration_s=item.duration_s
        )
    else:
        audio = event_synth.render_event(
            item.label,
            seed=ss,
            sample_rate=EVENT_RATE,
            duration_s=item.duration_s,
            soundfont=None if soundfont is None else Path(soundfont),
        )
    _write_wav(Path(folder) / item.fname, audio, EVENT_RATE, "PCM_16")


def _run_all(jobs: list[tuple], *, workers: int, progress: bool) -> None:
    """Run ``(function, *args)`` jobs, in a process pool when ``workers > 1``."""
    with progress_bar(enabled=progress, rate="files") as bar:
        task = bar.add_task("writing the stand-in sources", total=len(jobs))
        if workers <= 1:
            for fn, *args in jobs:
                fn(*args)
                bar.advance(task, 1)
            return
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(fn, *args) for fn, *args in jobs]
            try:
                for future in futures:
                    future.result()
                    bar.advance(task, 1)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise


def _write_tables(tmp: Path, scenes: list[_SceneItem], events: list[_EventItem], seed: int) -> None:
    sdir = tmp / TAU2019_DIRNAME
    meta = pd.DataFrame(
        {
            "filename": [s.filename for s in scenes],
            "scene_label": [s.scene for s in scenes],
            "identifier": [s.identifier for s in scenes],
            "source_label": "a",
        }
    )
    meta.to_csv(sdir / "meta.csv", sep="\t", index=False, lineterminator="\n")
    # fold 1: per scene label, about 30 % of the recordings (identifiers) evaluate, the rest train
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    test_ids: set[str] = set()
    for scene in SCENE_LABELS:
        ids = sorted(set(meta.loc[meta["scene_label"] == scene, "identifier"]))
        if len(ids) >= 2:
            test_ids.update(rng.permutation(ids)[: max(1, round(0.3 * len(ids)))].tolist())
    is_test = meta["identifier"].isin(test_ids)
    setup = sdir / "evaluation_setup"
    setup.mkdir()
    meta.loc[~is_test, ["filename", "scene_label"]].to_csv(
        setup / "fold1_train.csv", sep="\t", index=False, lineterminator="\n"
    )
    meta.loc[is_test, ["filename", "scene_label"]].to_csv(
        setup / "fold1_evaluate.csv", sep="\t", index=False, lineterminator="\n"
    )
    meta.loc[is_test, ["filename"]].to_csv(setup / "fold1_test.csv", sep="\t", index=False, lineterminator="\n")

    edir = tmp / EVENTS_DIRNAME / META_DIR
    ev = pd.DataFrame([asdict(e) for e in events])
    ev = ev.sort_values("fname", kind="stable")  # the real CSVs list clips by file name
    train = ev[ev["split"] == "train"]
    test = ev[ev["split"] == "test"]
    extra = ["origin", "attribution"] if (ev["origin"] != "").any() else []
    train[["fname", "label", "manually_verified", "freesound_id", "license", *extra]].to_csv(
        edir / TRAIN_CSV, index=False, lineterminator="\n"
    )
    test[["fname", "label", "usage", "freesound_id", "license", *extra]].to_csv(
        edir / TEST_CSV, index=False, lineterminator="\n"
    )


def _readme(params: dict, n_scenes: int, n_events: int, *, real_licences: bool = False) -> str:
    licences = (
        "freesound_id columns are invented placeholders; the licences are each clip's own (below)."
        if real_licences
        else "Licence and freesound_id columns are invented placeholders."
    )
    return f"""# Built-in stand-in source corpora (generator v{GENERATOR_VERSION})

{STANDIN_NOTICE}

- `{TAU2019_DIRNAME}/`: {n_scenes} procedurally synthesised acoustic scenes in the layout of
  TAU Urban Acoustic Scenes 2019 (development): 10 s, 48 kHz, 2 channels, 24-bit PCM WAV,
  `meta.csv` and `evaluation_setup/fold1_*.csv`. Each scene label has its own texture
  (traffic, babble, vehicle hum, birds and wind, footsteps ...), varied per city and location.
- `{EVENTS_DIRNAME}/`: {n_events} sound events for the 41 FSDKaggle2018 labels in that corpus'
  layout: 44.1 kHz mono 16-bit WAV, 0.3-10 s, `FSDKaggle2018.meta/*.csv`. Instrument and
  percussion classes are played from recorded samples of the TimGM6mb SoundFont; the
  other classes are synthesised. {licences}
- Parameters: `{json.dumps(params, sort_keys=True)}`. The same parameters give byte-identical files.
- Licence: the SoundFont-derived audio is covered by the GPL-2.0 (see LICENSE-TimGM6mb.txt);
  the procedurally generated audio carries the toolkit's own licence.
"""


SOUNDFONT_LICENSE_NOTE = """TimGM6mb.sf2 - a General MIDI SoundFont by Tim Brechbill, distributed with
the pretty_midi Python package (file pretty_midi/TimGM6mb.sf2).

Licence: GNU General Public License, version 2 (GPL-2.0). Event audio in this folder
for the instrument and percussion classes is rendered from recorded samples of that
SoundFont and is therefore a derived work under the same licence. The full text of
the GPL-2.0 is at https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt
"""


def ensure_sources(
    root: Path | None = None,
    *,
    seed: int = 0,
    scenes_per_pair: int = 1,
    cities: Sequence[str] = CITIES,
    train_per_label: int = 30,
    verified_per_label: int = 20,
    test_per_label: int = 8,
    scene_duration_s: float = 10.0,
    workers: int | None = None,
    progress: bool = False,
    events: str = "procedural",
    packages_root: Path | None = None,
) -> SyntheticSources:
    """The stand-in corpora in ``root``: written there on first use, reused afterwards.

    Parameters
    ----------
    root : Path, optional
        The stand-in folder (created when missing). When it already holds a
        stand-in written with the same parameters, it is returned at once.
        Default: :func:`default_cache_dir`.
    seed : int
        Seed of everything; the same seed gives byte-identical files.
    scenes_per_pair : int
        Scene recordings per (scene label, city) pair.
    cities : sequence of str
        Cities to record in.
    train_per_label, verified_per_label, test_per_label : int
        Event clips per label in the train rows (of which ``verified_per_label``
        are manually verified) and in the scored test rows.
    scene_duration_s : float
        Length of each scene recording.
    workers : int, optional
        Processes used for synthesis (default: all cores); the files do not
        depend on it.
    progress : bool
        Show a progress bar while writing.
    events : {"procedural", "recorded", "recorded-gpl"}
        What the event clips are made of (:data:`STANDIN_KINDS`). ``recorded`` first obtains the
        packages of :data:`remix.standin.packages.PACKAGES` that are not under the GPL (once,
        into ``packages_root``), ``recorded-gpl`` all of them; a package that cannot be had
        leaves its classes as they would be without it, and a line in ``notes``.
    packages_root : Path, optional
        Cache root the packages are unpacked under (default: :func:`cache_root`).

    Raises
    ------
    RemixError
        For impossible sizes, an unknown ``events``, or a ``root`` that exists but holds
        something else.
    """
    if events not in STANDIN_KINDS:
        raise RemixError(f"the stand-in's events are one of {', '.join(STANDIN_KINDS)}; got {events!r}.")
    if scenes_per_pair < 1 or not cities or train_per_label < 1 or test_per_label < 0:
        raise RemixError(
            "Stand-in sizes must be positive: got scenes_per_pair="
            f"{scenes_per_pair}, cities={list(cities)}, train_per_label={train_per_label}, "
            f"test_per_label={test_per_label}."
        )
    if not 0 <= verified_per_label <= train_per_label:
        raise RemixError(
            f"verified_per_label must lie in 0..train_per_label ({train_per_label}), got {verified_per_label}."
        )
    if scene_duration_s <= 0:
        raise RemixError(f"scene_duration_s must be positive, got {scene_duration_s}.")
    params = {
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "scenes_per_pair": int(scenes_per_pair),
        "cities": list(cities),
        "train_per_label": int(train_per_label),
        "verified_per_label": int(verified_per_label),
        "test_per_label": int(test_per_label),
        "scene_duration_s": float(scene_duration_s),
    }
    gathered = None
    if events != "procedural":
        packages_at = Path(packages_root).expanduser() if packages_root is not None else cache_root()
        gathered = gather(packages_at, gpl=events == "recorded-gpl")
        params.update(events=events, recorded_version=RECORDED_VERSION, packages=gathered.packages)
        if gathered.textures:
            params["scene_textures"] = _texture_names(gathered.textures)
    if root is not None:
        root = Path(root).expanduser()
    elif gathered is None:
        root = default_cache_dir()
    else:  # one folder per set of packages obtained: another machine's set writes another stand-in
        digest = hashlib.sha256(json.dumps(gathered.packages, sort_keys=True).encode()).hexdigest()[:10]
        root = cache_root() / f"{events}-v{RECORDED_VERSION}-{digest}"
    notes = gathered.notes if gathered is not None else ()
    result = SyntheticSources(root / TAU2019_DIRNAME, root / EVENTS_DIRNAME, notes)
    existing = _existing_params(root)
    if existing is not None:
        if existing == params:
            return result
        raise RemixError(
            f"{root} already holds a stand-in written with other parameters ({json.dumps(existing)}); "
            "remove that folder or choose another one."
        )
    if (root / "standin.json").is_file():  # there, but unreadable: a damaged stand-in, not a foreign folder
        raise RemixError(
            f"the stand-in in {root} is damaged (its standin.json cannot be read as a stand-in record); "
            f"remove the folder {root} and run the command again: the stand-in is written anew."
        )
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise RemixError(
            f"{root} exists and is not a stand-in folder (no standin.json in it); choose an empty or new folder."
        )
    with waiting_lock(root.parent / f".{root.name}.lock"):  # a second build waits, then finds it written
        if _existing_params(root) == params:
            return result
        _sweep_dead_writers(root)
        _write(root, params, gathered=gathered, workers=workers or os.cpu_count() or 1, progress=progress)
    return result


def _temporary_prefix(root: Path) -> str:
    return f".{root.name}.tmp-"


def _sweep_dead_writers(root: Path) -> int:
    """Remove the temporary folders of writers of ``root`` that are no longer running (a killed
    build's 200+ MB would otherwise stay in the cache for good); returns how many."""
    n = 0
    for path in root.parent.glob(_temporary_prefix(root) + "*"):
        pid = path.name.removeprefix(_temporary_prefix(root)).split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            n += 1
    return n


def _with_origins(events: list[_EventItem], gathered: RecordedSources) -> list[_EventItem]:
    """The events with their class's real origin, licence and attribution."""
    out = []
    for e in events:
        origin = gathered.origin(e.label, soundfont_labels=event_synth.SAMPLED_LABELS)
        out.append(replace(e, license=origin.licence, origin=origin.kind, attribution=origin.attribution))
    return out


def _event_job(e: _EventItem, seed: int, folder: str, gathered: RecordedSources | None) -> tuple:
    if gathered is None:
        return (_render_event, e, seed, folder)
    soundfont = str(gathered.soundfont) if gathered.soundfont is not None else None
    return (_render_event, e, seed, folder, gathered.recordings.get(e.label, ()), soundfont)


def _write(root: Path, params: dict, *, gathered: RecordedSources | None = None, workers: int, progress: bool) -> None:
    """Write a stand-in of ``params`` into a temporary folder beside ``root``, then rename it."""
    seed = params["seed"]
    scenes = _plan_scenes(params["cities"], params["scenes_per_pair"])
    events = _plan_events(
        seed,
        train_per_label=params["train_per_label"],
        verified_per_label=params["verified_per_label"],
        test_per_label=params["test_per_label"],
    )
    if gathered is not None:
        events = _with_origins(events, gathered)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_temporary_prefix(root)}{os.getpid()}-", dir=root.parent))
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)  # as any new folder: readable by every worker of a shared cache
        (tmp / TAU2019_DIRNAME / "audio").mkdir(parents=True)
        for sub in (TRAIN_DIR, TEST_DIR, META_DIR):
            (tmp / EVENTS_DIRNAME / sub).mkdir(parents=True)
        audio_dir = str(tmp / TAU2019_DIRNAME / "audio")
        train_dir = str(tmp / EVENTS_DIRNAME / TRAIN_DIR)
        test_dir = str(tmp / EVENTS_DIRNAME / TEST_DIR)
        textures = gathered.textures if gathered is not None else {}
        jobs: list[tuple] = [
            (_render_scene, s, seed, params["scene_duration_s"], audio_dir, textures.get(s.scene, ())) for s in scenes
        ]
        jobs += [_event_job(e, seed, train_dir if e.split == "train" else test_dir, gathered) for e in events]
        started = time.perf_counter()
        _run_all(jobs, workers=workers, progress=progress)
        _write_tables(tmp, scenes, events, seed)
        readme = _readme(params, len(scenes), len(events), real_licences=gathered is not None)
        if gathered is not None:
            readme += _recorded_readme(events, gathered)
        (tmp / "README.md").write_text(readme, encoding="utf-8")
        (tmp / "LICENSE-TimGM6mb.txt").write_text(SOUNDFONT_LICENSE_NOTE, encoding="utf-8")
        info = dict(params, seconds_to_write=round(time.perf_counter() - started, 2))
        (tmp / "standin.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        if root.exists():
            root.rmdir()  # empty (checked above)
        os.rename(tmp, root)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if _existing_params(root) == params:  # another process finished the same stand-in first
            return
        raise RemixError(f"Could not write the stand-in sources into {root}: {exc}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _existing_params(root: Path) -> dict | None:
    info = read_json(root / "standin.json")
    if not isinstance(info, dict):
        return None
    info.pop("seconds_to_write", None)
    return info


def cache_root() -> Path:
    """``$SEDREMIX_CACHE``, else ``~/.cache/sedremix``: where stand-ins and their packages are kept."""
    return env_path("SEDREMIX_CACHE") or Path.home() / ".cache" / "sedremix"


def default_cache_dir() -> Path:
    """``$SEDREMIX_CACHE/synthetic-vN``, else ``~/.cache/sedremix/synthetic-vN`` (the procedural stand-in)."""
    return cache_root() / CACHE_NAME


def _texture_names(textures: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """Scene label -> the file names (not paths) of its texture recordings."""
    return {scene: [Path(p).name for p in paths] for scene, paths in textures.items()}


def _recorded_readme(events: list[_EventItem], gathered: RecordedSources) -> str:
    from remix.standin.packages import PACKAGES

    table = origin_table(pd.DataFrame([asdict(e) for e in events]))
    lines = [
        "",
        f"## Recorded events (recorded stand-in v{RECORDED_VERSION})",
        "",
        "Classes covered by a package play its recordings (varied per clip: choice of recording, pitch,",
        "level, timing); the others stay procedural. The `license` column of the event CSVs holds each",
        "clip's real licence (SPDX) here, and `origin` and `attribution` say where it comes from.",
        "",
        "Packages obtained:",
        "",
    ]
    lines += [
        f"- `{name}` ({file}): {PACKAGES[name].licence}; {PACKAGES[name].attribution}"
        for name, file in sorted(gathered.packages.items())
    ] or ["- none"]
    lines += [f"- not obtained: {note}" for note in gathered.notes]
    lines += ["", "| class | origin | clips | licence |", "|---|---|---:|---|"]
    lines += [f"| {r.label} | {r.origin} | {r.clips} | {r.license} |" for r in table.itertuples()]
    if gathered.textures:
        lines += [
            "",
            "Scene textures: the scenes of these labels also hold one or two OpenSFX recordings (CC0, from",
            "`openttd-opensfx`), 6-18 dB below the scene's level:",
        ]
        lines.append(describe_textures(_texture_names(gathered.textures)) + ".")
    return "\n".join(lines) + "\n"
