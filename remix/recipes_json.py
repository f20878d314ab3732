"""Mixtures as JSON: a corpus's clip plans written one object per mixture, and read back to render
exactly those mixtures (``remix export-recipes``, ``remix build --from-recipes``).

One JSON object per line (JSON Lines), one per mixture (a clip at one SNR). Its fields follow
SpAudSyn's mixture metadata (the DCASE 2026 Task 4 data engine) where they mean the same thing:

``config``
    ``duration`` (s), ``sr`` (Hz), ``foreground_dir`` (the events folder), ``background_dir`` (the
    scenes folder) as SpAudSyn names them; ours added: ``snr_mode``, ``ref_lufs``, ``audio_format``,
    ``stems``, ``seed`` (the corpus seed the plan was drawn from), ``recipe`` (its options).
``bg_events`` / ``fg_events`` / ``int_events``
    The scene (``role`` background), the target events (foreground) and the interference events,
    each with SpAudSyn's ``label``, ``source_file`` (relative to its folder), ``source_time`` (s into
    the source), ``event_time`` (onset, s), ``event_duration`` (s), ``event_position`` (a simulated
    room's source position relative to the microphone, m, else null), ``snr`` (dB) and ``role``.
    Ours added: ``index`` (the event's place in the clip), ``samples`` (onset, length, source
    start and fades in output samples: what rendering uses, exact), ``gain_db`` (the gain the
    corpus applied, peak scaling included), ``license``, ``freesound_id``; the scene's ``city`` and
    ``identifier``.
``mixture``
    Ours: ``clip_id``, ``split``, ``fold``, ``snr_db``, ``snr_definition``.
``room``
    Null for dry events; else the room plan (:class:`remix.reverb.RoomPlan`: a simulated room's
    dimensions, target RT60, microphone and source positions, or each event's response file).

What SpAudSyn cannot express is in the added fields: the LUFS definition of the SNR, stems, the
exact sample positions. Read back (:func:`read_recipes`), the objects of one clip give its plan
exactly, so a build from them renders the same samples as the corpus they came from.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from remix.errors import RemixError
from remix.recipe import ClipPlan, EventPlan, RecipeOptions
from remix.render import RenderSettings
from remix.reverb import ReverbOptions, RoomPlan

FORMAT = "sedremix-recipe/1"
"""The ``format`` field of every object."""

_RENDER_KEYS = ("snr_mode", "ref_lufs", "audio_format", "stems")


def _event_object(event: EventPlan, index: int, *, sr: int, snr: float, room: RoomPlan | None, gain_db) -> dict:
    position = None
    if room is not None and room.simulated:
        mic = room.mic_m
        position = [[float(a - b) for a, b in zip(room.sources_m[index], mic)]]
    return {
        "label": event.label,
        "source_file": event.source_file,
        "source_time": event.source_start / sr,
        "event_time": event.onset / sr,
        "event_duration": event.length / sr,
        "event_position": position,
        "snr": float(snr),
        "role": "foreground" if event.target else "interference",
        "index": index,
        "samples": {
            "onset": event.onset,
            "length": event.length,
            "source_start": event.source_start,
            "fade_in": event.fade_in,
            "fade_out": event.fade_out,
        },
        "gain_db": gain_db,
        "license": event.license,
        "freesound_id": event.freesound_id,
    }


def _room_object(room: RoomPlan | None) -> dict | None:
    if room is None:
        return None
    return {
        "dims_m": list(room.dims_m),
        "rt60_target_s": None if math.isnan(room.rt60_target_s) else room.rt60_target_s,
        "mic_m": list(room.mic_m),
        "sources_m": [list(s) for s in room.sources_m],
        "files": list(room.files),
        "names": list(room.names),
    }


def mixture_objects(
    plan: ClipPlan,
    *,
    render: RenderSettings,
    seed: int,
    scenes_dir: Path,
    events_dir: Path,
    recipe: dict | None = None,
    reverb: dict | None = None,
    gains_db: dict | None = None,
) -> list[dict]:
    """The JSON objects of one clip: one per SNR of ``render``.

    Parameters
    ----------
    plan : ClipPlan
    render : RenderSettings
    seed : int
        The corpus seed.
    scenes_dir, events_dir : Path
        The source folders (absolute).
    recipe, reverb : dict, optional
        The recipe and reverberation options (``to_dict()``), recorded in ``config``.
    gains_db : dict, optional
        (snr_db, event index) -> the gain the corpus applied (``events.parquet``).
    """
    sr = render.sample_rate
    config = {
        "duration": render.clip_samples / sr,
        "sr": sr,
        "foreground_dir": str(events_dir),
        "background_dir": str(scenes_dir),
        **{key: getattr(render, key) for key in _RENDER_KEYS},
        "seed": int(seed),
        "recipe": recipe or {},
        "reverb": reverb,
    }
    out = []
    for snr in render.snrs:
        events = [
            _event_object(e, k, sr=sr, snr=snr, room=plan.room, gain_db=(gains_db or {}).get((float(snr), k)))
            for k, e in enumerate(plan.events)
        ]
        out.append(
            {
                "format": FORMAT,
                "config": config,
                "mixture": {
                    "clip_id": plan.clip_id,
                    "split": plan.split,
                    "fold": plan.fold,
                    "snr_db": float(snr),
                    "snr_definition": render.snr_mode,
                },
                "bg_events": [
                    {
                        "label": plan.scene_label,
                        "source_file": plan.scene_file,
                        "source_time": 0.0,
                        "event_time": 0.0,
                        "event_duration": render.clip_samples / sr,
                        "event_position": None,
                        "snr": 0,
                        "role": "background",
                        "city": plan.city,
                        "identifier": plan.scene_identifier,
                    }
                ],
                "fg_events": [e for e in events if e["role"] == "foreground"],
                "int_events": [e for e in events if e["role"] == "interference"],
                "room": _room_object(plan.room),
            }
        )
    return out


def write_recipes(path: Path, objects: Iterable[dict]) -> int:
    """Write objects as JSON Lines (whole or not at all); the number written."""
    from remix.atomic import atomic_output

    n = 0
    with atomic_output(Path(path)) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for obj in objects:
            handle.write(json.dumps(obj, sort_keys=True, allow_nan=False) + "\n")
            n += 1
    return n


def export_recipes(corpus_dir: Path, out: Path) -> int:
    """Write every mixture of a built corpus as JSON Lines (its plans made again from its sources,
    :func:`remix.fresh.corpus_sources`, and checked against its plan digest); the number written."""
    import pandas as pd

    from remix.fresh import corpus_sources
    from remix.manifest import read_corpus_info

    corpus_dir = Path(corpus_dir)
    sources = corpus_sources(corpus_dir)
    info = read_corpus_info(corpus_dir)
    events = pd.read_parquet(
        corpus_dir / "manifest" / "events.parquet", columns=["clip_id", "snr_db", "event_index", "gain_db"]
    )
    gains: dict[str, dict] = {}
    for cid, snr, k, gain in events.itertuples(index=False):
        gains.setdefault(str(cid), {})[(float(snr), int(k))] = float(gain)
    scenes_dir, events_dir = Path(info["sources"]["scenes_dir"]), Path(info["sources"]["events_dir"])
    objects = (
        obj
        for plan in sources.plans
        for obj in mixture_objects(
            plan,
            render=sources.render,
            seed=sources.seed,
            scenes_dir=scenes_dir,
            events_dir=events_dir,
            recipe=sources.recipe.to_dict(),
            reverb=info.get("reverb"),
            gains_db=gains.get(plan.clip_id),
        )
    )
    return write_recipes(out, objects)


@dataclass(frozen=True)
class Recipes:
    """Mixtures read back from JSON Lines: the clips' plans and how to render them.

    Attributes
    ----------
    plans : list of ClipPlan
        One per clip, sorted by clip id.
    render : RenderSettings
        The SNRs of the mixtures (every clip must have the same set) and the render options.
    seed : int
    scenes_dir, events_dir : Path
    recipe : dict
        The recipe options recorded (for the card; the plans do not depend on them any more).
    reverb : dict or None
        The reverberation options recorded (None: dry).
    """

    plans: list[ClipPlan]
    render: RenderSettings
    seed: int
    scenes_dir: Path
    events_dir: Path
    recipe: dict
    reverb: dict | None = None

    def build_arguments(self) -> dict:
        """The keyword arguments of :func:`remix.build.build_corpus` that render these mixtures."""
        from remix.build import SourceFolders  # imports this module's users: not at the top

        fields = dict(self.recipe)
        fields["onsets_s"] = tuple(fields.get("onsets_s", RecipeOptions().onsets_s))
        if fields.get("targets") is not None:
            fields["targets"] = tuple(fields["targets"])
        try:
            recipe = RecipeOptions(**fields)
        except TypeError as exc:
            raise RemixError(f"the recipes record recipe options this version does not know ({exc}).") from None
        return dict(
            recipe=recipe,
            render=self.render,
            seed=self.seed,
            sources=SourceFolders(self.scenes_dir, self.events_dir),
            reverb=ReverbOptions.from_dict(self.reverb),
            plans=self.plans,
        )


def _lines(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        raise RemixError(f"--from-recipes {path}: cannot read it ({exc.strerror or exc}).") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise RemixError(f"--from-recipes {path}, line {number}: not JSON ({exc}).") from None
            if not isinstance(obj, dict) or obj.get("format") != FORMAT:
                raise RemixError(
                    f"--from-recipes {path}, line {number}: expected a mixture object of format {FORMAT} "
                    "(as remix export-recipes writes), found something else."
                )
            yield number, obj


def _event_plan(e: dict, *, target: bool, events_dir: Path) -> EventPlan:
    s = e["samples"]
    return EventPlan(
        label=str(e["label"]),
        source_path=str(events_dir / e["source_file"]),
        source_file=str(e["source_file"]),
        onset=int(s["onset"]),
        length=int(s["length"]),
        source_start=int(s["source_start"]),
        fade_in=int(s["fade_in"]),
        fade_out=int(s["fade_out"]),
        license=str(e.get("license", "")),
        freesound_id=int(e.get("freesound_id", -1)),
        target=target,
    )


def _room_plan(room: dict | None) -> RoomPlan | None:
    if room is None:
        return None
    rt60 = room.get("rt60_target_s")
    return RoomPlan(
        dims_m=tuple(float(v) for v in room["dims_m"]),
        rt60_target_s=float("nan") if rt60 is None else float(rt60),
        mic_m=tuple(float(v) for v in room["mic_m"]),
        sources_m=tuple(tuple(float(v) for v in s) for s in room["sources_m"]),
        files=tuple(str(f) for f in room["files"]),
        names=tuple(str(n) for n in room["names"]),
    )


def read_recipes(path: Path, *, scenes_dir: Path | None = None, events_dir: Path | None = None) -> Recipes:
    """The mixtures of a JSON Lines file, as plans (one per clip) and render settings.

    Parameters
    ----------
    path : Path
    scenes_dir, events_dir : Path, optional
        Where the sources are here (default: the folders the file records).

    Raises
    ------
    RemixError
        A line that is not a mixture object, objects of one clip that disagree, clips with different
        SNRs or render options (one line each, naming the line).
    """
    path = Path(path)
    by_clip: dict[str, list[tuple[int, dict]]] = {}
    for number, obj in _lines(path):
        try:
            by_clip.setdefault(str(obj["mixture"]["clip_id"]), []).append((number, obj))
        except (KeyError, TypeError):
            raise RemixError(f"--from-recipes {path}, line {number}: the object has no mixture.clip_id.") from None
    if not by_clip:
        raise RemixError(f"--from-recipes {path}: no mixture in it; give a file remix export-recipes wrote.")
    first = next(iter(by_clip.values()))[0][1]
    config = first["config"]
    scenes = Path(scenes_dir or config["background_dir"]).expanduser().resolve()
    events = Path(events_dir or config["foreground_dir"]).expanduser().resolve()
    snrs: tuple[float, ...] | None = None
    plans = []
    for clip_id, objects in sorted(by_clip.items()):
        number, obj = objects[0]
        clip_snrs = tuple(sorted(float(o["mixture"]["snr_db"]) for _, o in objects))
        if snrs is None:
            snrs = clip_snrs
        elif clip_snrs != snrs:
            raise RemixError(
                f"--from-recipes {path}, line {number}: clip {clip_id} is at SNR {list(clip_snrs)}, the others at "
                f"{list(snrs)}; a corpus has every clip at the same SNRs."
            )
        if any(o["config"] != config for _, o in objects) or obj["config"] != config:
            raise RemixError(f"--from-recipes {path}, line {number}: its config differs from the first line's.")
        try:
            scene = obj["bg_events"][0]
            placed = sorted(
                [(e["index"], _event_plan(e, target=True, events_dir=events)) for e in obj["fg_events"]]
                + [(e["index"], _event_plan(e, target=False, events_dir=events)) for e in obj["int_events"]],
                key=lambda pair: int(pair[0]),
            )
            plans.append(
                ClipPlan(
                    clip_id=clip_id,
                    split=str(obj["mixture"]["split"]),
                    fold=int(obj["mixture"]["fold"]),
                    scene_path=str(scenes / scene["source_file"]),
                    scene_file=str(scene["source_file"]),
                    scene_label=str(scene["label"]),
                    city=str(scene["city"]),
                    scene_identifier=str(scene["identifier"]),
                    events=tuple(e for _, e in placed),
                    room=_room_plan(obj.get("room")),
                )
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise RemixError(f"--from-recipes {path}, line {number}: a field is missing or wrong ({exc!r}).") from None
    render = RenderSettings(
        snrs=snrs or (),
        sample_rate=int(config["sr"]),
        clip_samples=int(round(float(config["duration"]) * int(config["sr"]))),
        **{key: config[key] for key in _RENDER_KEYS},
    )
    recipe = dict(config.get("recipe") or {})
    return Recipes(plans, render, int(config.get("seed", 0)), scenes, events, recipe, config.get("reverb"))
