"""Clip plans: which scene, which events, where, for every clip of a corpus.

A plan is made once, up front, in the parent process; rendering then only
follows it. Every random choice for a clip comes from that clip's own child of
one :class:`numpy.random.SeedSequence` per corpus (keyed by split, fold and
index), so a plan does not depend on the number of workers, and changing the
size of the test split (to any size above 0) leaves the development clips as
they were.

Two recipes:

``paper``
    The original corpus: manually verified FSDKaggle2018 training events,
    shuffled and dealt into 4 folds (``fold = row_index % 4 + 1``); 3 distinct
    labels per clip at onsets 0.5, 3.0 and 5.5 s, each event cut to at most
    2 s (shorter ones are not padded), taken from the start of its file.
``random``
    Random labels, onsets, durations (``min_event_s`` up to the event's length,
    capped at ``max_event_s``) and source offsets, overlaps allowed up to
    ``max_polyphony`` simultaneous events, short fades at every cut.

Three options, for either recipe, make scenes as the field's synthetic sets hold them (each off by
default, and a build without them is the same, byte for byte, as one made before they existed):

``empty_clips``
    That share of each fold's clips (rounded; chosen by a permutation of the fold's clip
    indices) holds no target event: the scene alone, or with interference events.
``repeats``
    A clip's target events may share a class (each occurrence drawn and placed on its own).
``interference`` with ``targets``
    Only the classes of ``targets`` are labelled; every clip also holds ``interference`` events
    of the other classes, placed at random (lengths as the random recipe's, onsets anywhere),
    mixed, and written to the manifests marked ``target = False``, never to the labels.

Their draws come from a stream of their own (:func:`_extras_rng`), so the target events of a
clip that keeps them are those of the same build without the options.

Scene recordings (TAU identifiers) are dealt into five groups, folds 1-4 and
the test split, in fixed proportions 4:4:4:4:1 (:data:`FOLD_SHARE`), stratified
by scene label; a group with fewer recordings than clips cycles its own list. No
event file and no scene recording is shared between groups. The test split
draws its events from FSDKaggle2018's test clips.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from remix.errors import RemixError
from remix.options import RECIPES, default  # one definition of the options, their defaults and choices
from remix.reverb import ReverbOptions, RoomPlan, plan_room

N_FOLDS: int = 4
"""Development folds of the corpus (the test split is fold 0)."""

FOLD_SHARE: int = 4
"""Scene recordings are dealt 4 : 4 : 4 : 4 : 1 to folds 1-4 and the test split
(the proportions of the default 2000 clips per fold and 500 test clips), fixed
so that the size of the test split does not move the development clips."""

_DEV, _TEST = 0, 1  # split codes inside seed keys
_ROOM = 3  # seed-key code of reverberation draws (apart from the recipe's, so dry and reverberant plans agree)


@dataclass(frozen=True)
class RecipeOptions:
    """Everything that decides the clip plans (not the gains: see the build).

    Parameters
    ----------
    recipe : {"paper", "random"}
        Which recipe (module docstring).
    clips_per_fold : int
        Clips in each of the 4 development folds.
    test_clips : int or None
        Clips of the held-out test split; ``None`` means a quarter of
        ``clips_per_fold``, rounded up (500 for the default 2000).
    events_per_clip : int or None
        Events (distinct labels) per clip; ``None`` means 3. The ``paper``
        recipe has exactly 3 (one per fixed onset).
    max_event_s : float
        Longest placed event (s).
    min_event_s : float
        Shortest placed event of the ``random`` recipe (s); a shorter source is
        used whole.
    max_polyphony : int
        Most events sounding at once (``random``; the ``paper`` layout never overlaps).
    fade_s : float or None
        Fade length at every cut (s); ``None`` means 0 for ``paper`` (as the
        original) and 0.01 for ``random``.
    clip_duration_s : float
        Length of every clip (s).
    sample_rate : int
        Output rate (Hz).
    onsets_s : tuple of float
        The ``paper`` recipe's fixed onsets (s).
    empty_clips : float
        Share of each fold's clips without any target event, in [0, 1).
    repeats : bool
        Whether a clip's target events may share a class.
    interference : int
        Non-target events per clip (classes outside ``targets``).
    targets : tuple of str or None
        The labelled classes (None: every class).
    """

    def __post_init__(self) -> None:
        if self.targets is not None:
            object.__setattr__(self, "targets", tuple(sorted(dict.fromkeys(str(t) for t in self.targets))))

    recipe: str = default("recipe")
    clips_per_fold: int = default("clips_per_fold")
    test_clips: int | None = None
    events_per_clip: int | None = None
    max_event_s: float = default("max_event_s")
    min_event_s: float = default("min_event_s")
    max_polyphony: int = default("max_polyphony")
    fade_s: float | None = None
    clip_duration_s: float = 10.0
    sample_rate: int = 32000
    onsets_s: tuple[float, ...] = (0.5, 3.0, 5.5)
    empty_clips: float = default("empty_clips")
    repeats: bool = default("repeats")
    interference: int = default("interference")
    targets: tuple[str, ...] | None = None

    @property
    def n_test(self) -> int:
        """Clips of the test split."""
        return -(-self.clips_per_fold // 4) if self.test_clips is None else self.test_clips

    @property
    def n_events(self) -> int:
        """Events per clip."""
        return 3 if self.events_per_clip is None else self.events_per_clip

    @property
    def fade(self) -> float:
        """Fade length at cuts (s)."""
        if self.fade_s is not None:
            return self.fade_s
        return 0.0 if self.recipe == "paper" else 0.01

    @property
    def clip_samples(self) -> int:
        """Samples per clip."""
        return int(round(self.clip_duration_s * self.sample_rate))

    def validate(self) -> None:
        """Raise :class:`RemixError` for an impossible combination."""
        if self.recipe not in RECIPES:
            raise RemixError(f"unknown recipe {self.recipe!r}: expected one of {', '.join(RECIPES)}.")
        if self.clips_per_fold < 1:
            raise RemixError(f"clips per fold must be at least 1, got {self.clips_per_fold}.")
        if self.test_clips is not None and self.test_clips < 0:
            raise RemixError(f"test clips must be 0 or more, got {self.test_clips}.")
        if self.n_events < 1:
            raise RemixError(f"events per clip must be at least 1, got {self.n_events}.")
        if self.sample_rate < 8000:
            raise RemixError(f"sample rate must be at least 8000 Hz, got {self.sample_rate}.")
        if self.clip_duration_s <= 0:
            raise RemixError(f"clip duration must be positive, got {self.clip_duration_s} s.")
        if not 0 < self.max_event_s <= self.clip_duration_s:
            raise RemixError(
                f"the longest event must be above 0 and at most the clip length "
                f"({self.clip_duration_s:g} s), got {self.max_event_s:g} s."
            )
        if self.fade < 0:
            raise RemixError(f"the fade must be 0 s or more, got {self.fade:g} s.")
        self._validate_scenes()
        if self.recipe == "paper":
            if self.n_events != len(self.onsets_s):
                raise RemixError(
                    f"the paper recipe places {len(self.onsets_s)} events per clip (one per onset "
                    f"{', '.join(f'{o:g}' for o in self.onsets_s)} s), not {self.n_events}; "
                    "use --recipe random for another number."
                )
            if max(self.onsets_s) + self.max_event_s > self.clip_duration_s:
                raise RemixError(
                    f"events of {self.max_event_s:g} s at onset {max(self.onsets_s):g} s run past "
                    f"the end of a {self.clip_duration_s:g} s clip; lower --max-event-s."
                )
            onsets = sorted(self.onsets_s)
            gap = min((b - a for a, b in zip(onsets, onsets[1:])), default=self.max_event_s)
            if self.max_event_s > gap:
                raise RemixError(
                    f"events of {self.max_event_s:g} s would overlap: the paper recipe's onsets "
                    f"are {gap:g} s apart; use --max-event-s {gap:g} or less, or --recipe random "
                    "for overlapping events."
                )
        else:
            if self.max_polyphony < 1:
                raise RemixError(f"max polyphony must be at least 1, got {self.max_polyphony}.")
            if not 0 < self.min_event_s <= self.max_event_s:
                raise RemixError(
                    f"the shortest event must be above 0 and at most the longest "
                    f"({self.max_event_s:g} s), got {self.min_event_s:g} s."
                )
            if self.n_events * self.min_event_s > self.max_polyphony * self.clip_duration_s:
                raise RemixError(
                    f"{self.n_events} events of at least {self.min_event_s:g} s cannot fit in "
                    f"{self.clip_duration_s:g} s with at most {self.max_polyphony} at once; lower "
                    "--events-per-clip or raise --max-polyphony."
                )

    def _validate_scenes(self) -> None:
        from remix.labels import EVENT_LABELS

        if not 0.0 <= self.empty_clips < 1.0:
            raise RemixError(f"--empty-clips is a share of the clips in [0, 1), got {self.empty_clips:g}.")
        if self.interference < 0:
            raise RemixError(f"--interference is a number of events per clip (0 or more), got {self.interference}.")
        if self.targets is not None:
            unknown = [t for t in self.targets if t not in EVENT_LABELS]
            if unknown or not self.targets:
                found = ", ".join(unknown) or "none"
                raise RemixError(
                    f"--targets must name FSDKaggle2018 classes as the corpus spells them (e.g. Bark,Cello), "
                    f"found {found}; docs/corpus.md lists the 41."
                )
            if not self.repeats and len(self.targets) < self.n_events:
                raise RemixError(
                    f"--targets names {len(self.targets)} class(es) but each clip needs {self.n_events} distinct ones; "
                    "name more, lower --events-per-clip, or allow --repeats."
                )
        if self.interference and (self.targets is None or len(self.targets) == len(EVENT_LABELS)):
            raise RemixError(
                "--interference needs classes that are not targets: name the labelled classes with --targets "
                "(the others then interfere)."
            )

    @property
    def target_set(self) -> frozenset[str] | None:
        """The labelled classes (None: every class)."""
        return None if self.targets is None else frozenset(self.targets)

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready); the scene options only where they are not at their defaults, so a
        corpus built without them records what it always did."""
        d = dataclasses.asdict(self)
        d["onsets_s"] = list(self.onsets_s)
        for name in ("empty_clips", "repeats", "interference", "targets"):
            if d[name] == getattr(RecipeOptions, name, None) or (name == "targets" and d[name] is None):
                del d[name]
        if "targets" in d:
            d["targets"] = list(d["targets"])
        return d


@dataclass(frozen=True)
class EventPlan:
    """One event placed into a clip. Positions are in output samples.

    ``source_start`` is where the placed segment begins inside the source file
    (after resampling to the output rate), ``length`` its length; fades are
    applied inside the segment, at its start and end, in samples.
    """

    label: str
    source_path: str
    source_file: str
    onset: int
    length: int
    source_start: int
    fade_in: int = 0
    fade_out: int = 0
    license: str = ""
    freesound_id: int = -1
    target: bool = field(default=True, repr=False)  # False: interference (left out of the repr: plans of
    # target events hash as they always have, :func:`plan_digest`)


@dataclass(frozen=True)
class ClipPlan:
    """One clip: its scene and its events (sorted by onset), and where they sound (``room``: None
    for dry events; it is left out of the repr, so a dry plan reads as it always has)."""

    clip_id: str
    split: str
    fold: int
    scene_path: str
    scene_file: str
    scene_label: str
    city: str
    scene_identifier: str
    events: tuple[EventPlan, ...] = field(default_factory=tuple)
    room: RoomPlan | None = field(default=None, repr=False)

    @property
    def labels(self) -> list[str]:
        """Distinct labels of the target events, sorted (interference events are not labelled)."""
        return sorted({e.label for e in self.events if e.target})

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        d = dataclasses.asdict(self)
        if self.room is None:
            del d["room"]
        return d


@dataclass(frozen=True)
class Rooms:
    """What reverberant plans draw their rooms from: the options and, for ``--reverb DIR``, the
    usable response files (absolute paths, sorted)."""

    options: ReverbOptions
    files: tuple[str, ...] = ()

    def plan(self, plan: ClipPlan, *key: int, seed: int) -> ClipPlan:
        """``plan`` with its room, drawn from the corpus seed keyed by ``key``."""
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_ROOM, *key)))
        folder = str(self.options.folder.expanduser().resolve()) if self.options.folder is not None else ""
        room = plan_room(rng, options=self.options, n_events=len(plan.events), files=self.files, folder=folder)
        return dataclasses.replace(plan, room=room)


def clip_seed(seed: int, *, split: str, fold: int, index: int) -> np.random.SeedSequence:
    """The child seed of one clip: the corpus seed keyed by (split, fold, index)."""
    code = _DEV if split == "dev" else _TEST
    return np.random.SeedSequence(seed, spawn_key=(code, fold, index))


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(100, *key)))


def assign_event_folds(events: pd.DataFrame, *, seed: int) -> pd.Series:
    """Fold of every event row: 1-4 for verified training rows, 0 for test rows, -1 unused.

    The verified training rows are shuffled with the seed and dealt in turn
    (``fold = row_index % 4 + 1``), as the original corpus does.

    Parameters
    ----------
    events : pd.DataFrame
        Table from :func:`remix.sources.read_fsd2018` (all rows, before any are
        skipped, so one bad file does not move every other one).
    seed : int
        Corpus seed.

    Returns
    -------
    pd.Series
        Integer fold per row, aligned with ``events``.
    """
    folds = pd.Series(-1, index=events.index, dtype="int64")
    dev = events.index[(events["split"] == "train") & events["manually_verified"].astype(bool)]
    order = _rng(seed, 1).permutation(len(dev))
    folds.loc[dev[order]] = np.arange(len(dev)) % N_FOLDS + 1
    folds.loc[events["split"] == "test"] = 0
    return folds


def assign_scene_groups(scenes: pd.DataFrame, *, weights: dict[int, float], seed: int) -> pd.Series:
    """Group (fold 1-4, or 0 for test) of every scene row, by recording identifier.

    Identifiers are shuffled with the seed, ordered by scene label and dealt one
    by one to the group that is furthest below its share, so groups are
    proportional to ``weights`` and every scene label is spread over them.

    Parameters
    ----------
    scenes : pd.DataFrame
        Table from :func:`remix.sources.read_tau2019` (columns identifier, scene_label).
    weights : dict of int to float
        Relative size of each group (groups of weight 0 get nothing).
    seed : int
        Corpus seed.

    Returns
    -------
    pd.Series
        Group per row, aligned with ``scenes``.
    """
    groups = [g for g, w in sorted(weights.items()) if w > 0]
    ids = scenes.groupby("identifier", sort=True)["scene_label"].first()
    if len(ids) < len(groups):
        raise RemixError(
            f"the scene corpus holds {len(ids)} recording(s) (identifiers) but the corpus needs "
            f"{len(groups)} disjoint groups (4 folds{' and a test split' if 0 in groups else ''}); "
            "give a scene folder with more recordings, or --test-clips 0."
        )
    order = _rng(seed, 2).permutation(len(ids))
    table = pd.DataFrame({"identifier": ids.index[order], "scene_label": ids.to_numpy()[order]})
    table = table.sort_values("scene_label", kind="stable")
    counts = dict.fromkeys(groups, 0)
    assigned: dict[str, int] = {}
    for ident in table["identifier"]:
        g = min(groups, key=lambda k: ((counts[k] + 1) / weights[k], k))
        counts[g] += 1
        assigned[ident] = g
    return scenes["identifier"].map(assigned).astype("int64")


def _pick_events(
    pool: dict[str, list[dict]],
    labels: list[str],
    rng: np.random.Generator,
    n: int,
    fold: int,
    *,
    repeats: bool = False,
) -> list[dict]:
    if len(labels) < n and not (repeats and labels):
        where = "the test split" if fold == 0 else f"fold {fold}"
        raise RemixError(
            f"{where} has usable events of only {len(labels)} label(s) but each clip needs {n} "
            "distinct labels; give more event files or lower --events-per-clip."
        )
    chosen = rng.choice(len(labels), size=n, replace=repeats)
    rows = []
    for k in chosen:
        candidates = pool[labels[k]]
        rows.append(candidates[int(rng.integers(len(candidates)))])
    return rows


def _free_onsets(intervals: list[tuple[int, int]], length: int, n_clip: int, max_poly: int) -> list[tuple[int, int]]:
    """Half-open ranges of onsets where an event of ``length`` keeps polyphony within ``max_poly``."""
    points = sorted({0, n_clip, *(s for s, _ in intervals), *(e for _, e in intervals)})
    full = [(a, b) for a, b in zip(points[:-1], points[1:]) if sum(1 for s, e in intervals if s <= a < e) >= max_poly]
    allowed = [(0, n_clip - length + 1)]
    for a, b in full:  # onsets o with o < b and o + length > a are forbidden
        lo, hi = a - length + 1, b
        allowed = [r for x, y in allowed for r in ((x, min(y, lo)), (max(x, hi), y)) if r[0] < r[1]]
    return allowed


def _event(row: dict, *, onset: int, length: int, start: int, src_len: int, fade: int) -> EventPlan:
    fade = min(fade, length // 2)
    return EventPlan(
        label=str(row["label"]),
        source_path=str(row["path"]),
        source_file=str(row["source_file"]),
        onset=int(onset),
        length=int(length),
        source_start=int(start),
        fade_in=fade if start > 0 else 0,
        fade_out=fade if start + length < src_len else 0,
        license=str(row.get("license", "")),
        freesound_id=int(row.get("freesound_id", -1)),
    )


def _plan_events(
    rows: list[dict], rng: np.random.Generator, options: RecipeOptions, clip_id: str
) -> tuple[EventPlan, ...]:
    sr = options.sample_rate
    fade = int(round(options.fade * sr))
    max_len = int(round(options.max_event_s * sr))
    out: list[EventPlan] = []
    if options.recipe == "paper":
        for row, onset_s in zip(rows, options.onsets_s):
            src_len = int(row["n_samples"])
            length = min(max_len, src_len)
            out.append(_event(row, onset=int(round(onset_s * sr)), length=length, start=0, src_len=src_len, fade=fade))
        return tuple(out)
    n_clip = options.clip_samples
    intervals: list[tuple[int, int]] = []
    for row in rows:
        src_len = int(row["n_samples"])
        hi = min(max_len, src_len, n_clip)
        lo = min(int(round(options.min_event_s * sr)), hi)
        length = int(rng.integers(lo, hi + 1))
        free = _free_onsets(intervals, length, n_clip, options.max_polyphony)
        if not free:  # no room at this length: fall back to the shortest allowed
            length = lo
            free = _free_onsets(intervals, length, n_clip, options.max_polyphony)
        if not free:
            raise RemixError(
                f"could not place {options.n_events} events in clip {clip_id} with at most "
                f"{options.max_polyphony} at once; lower --events-per-clip or --max-event-s, or "
                "raise --max-polyphony."
            )
        start = int(rng.integers(0, src_len - length + 1))
        k = int(rng.integers(sum(b - a for a, b in free)))
        for a, b in free:
            if k < b - a:
                onset = a + k
                break
            k -= b - a
        intervals.append((onset, onset + length))
        out.append(_event(row, onset=onset, length=length, start=start, src_len=src_len, fade=fade))
    return tuple(sorted(out, key=lambda e: (e.onset, e.label)))


@dataclass(frozen=True)
class FoldPool:
    """What the clips of one fold (or of the test split, fold 0) draw from.

    Attributes
    ----------
    fold : int
    events : dict of str to list of dict
        Usable event rows of the fold by label, in table order.
    scenes : list of dict
        Usable scene rows of the fold, in the corpus's order (shuffled with the seed).
    """

    fold: int
    events: dict[str, list[dict]]
    scenes: list[dict]

    @property
    def labels(self) -> list[str]:
        return sorted(self.events)

    @property
    def paths(self) -> set[str]:
        """Every source file the fold may use."""
        return {str(r["path"]) for rows in self.events.values() for r in rows} | {str(r["path"]) for r in self.scenes}


def fold_pools(
    scenes: pd.DataFrame, events: pd.DataFrame, *, options: RecipeOptions, seed: int, usable: set[str] | None = None
) -> dict[int, FoldPool]:
    """The sources of every fold (1-4) and of the test split (0), as :func:`plan_corpus` deals them.

    Parameters are those of :func:`plan_corpus`. Raises RemixError for a group left without a
    usable scene recording.
    """
    n_test = options.n_test
    event_fold = assign_event_folds(events, seed=seed)
    weights = {k: float(FOLD_SHARE) for k in range(1, N_FOLDS + 1)}
    weights[0] = 1.0 if n_test > 0 else 0.0
    scene_group = assign_scene_groups(scenes, weights=weights, seed=seed)
    if usable is not None:
        ev_ok = events["path"].isin(usable)
        sc_ok = scenes["path"].isin(usable)
    else:
        ev_ok = pd.Series(True, index=events.index)
        sc_ok = pd.Series(True, index=scenes.index)
    pools = {}
    for fold in [*range(1, N_FOLDS + 1), *([0] if n_test > 0 else [])]:
        pool: dict[str, list[dict]] = {}
        for row in events[(event_fold == fold) & ev_ok].to_dict("records"):  # table order within each label
            pool.setdefault(str(row["label"]), []).append(row)
        fold_scenes = scenes[(scene_group == fold) & sc_ok]
        if fold_scenes.empty:
            where = "the test split" if fold == 0 else f"fold {fold}"
            raise RemixError(
                f"no usable scene recording is left for {where}; give a scene folder with more "
                "recordings (or fewer unusable files)."
            )
        scene_rows = fold_scenes.iloc[_rng(seed, 3, fold).permutation(len(fold_scenes))].to_dict("records")
        pools[fold] = FoldPool(fold=fold, events=pool, scenes=scene_rows)
    return pools


_EXTRAS = 4  # seed-key code of the scene options' draws (empty clips, interference)


def _extras_rng(seed: int, *key: int) -> np.random.Generator:
    """The stream of the scene options' draws, keyed apart from the recipe's (so the target events
    of a clip are those of the same build without the options)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_EXTRAS, *key)))


def _empty_indices(options: RecipeOptions, n_clips: int, seed: int, *key: int) -> set[int]:
    """The clips of a fold without target events: the first ``round(empty_clips x n)`` of a permutation."""
    if options.empty_clips <= 0 or n_clips == 0:
        return set()
    n_empty = int(round(options.empty_clips * n_clips))
    return {int(i) for i in _extras_rng(seed, *key).permutation(n_clips)[:n_empty]}


def _plan_interference(
    pool: FoldPool, rng: np.random.Generator, options: RecipeOptions, clip_id: str
) -> tuple[EventPlan, ...]:
    """``options.interference`` events of classes outside the targets, placed at random."""
    targets = options.target_set or frozenset()
    labels = [lab for lab in pool.labels if lab not in targets]
    if not labels:
        where = "the test split" if pool.fold == 0 else f"fold {pool.fold}"
        raise RemixError(
            f"{where} has no usable event of a class outside --targets to interfere with; name fewer targets."
        )
    sr = options.sample_rate
    fade = int(round(options.fade * sr))
    n_clip = options.clip_samples
    out = []
    for k in rng.choice(len(labels), size=options.interference, replace=options.interference > len(labels)):
        candidates = pool.events[labels[int(k)]]
        row = candidates[int(rng.integers(len(candidates)))]
        src_len = int(row["n_samples"])
        hi = min(int(round(options.max_event_s * sr)), src_len, n_clip)
        lo = min(int(round(options.min_event_s * sr)), hi)
        length = int(rng.integers(lo, hi + 1))
        onset = int(rng.integers(0, n_clip - length + 1))
        start = int(rng.integers(0, src_len - length + 1))
        event = _event(row, onset=onset, length=length, start=start, src_len=src_len, fade=fade)
        out.append(dataclasses.replace(event, target=False))
    return tuple(out)


def _plan_clip(
    clip_id: str,
    *,
    split: str,
    pool: FoldPool,
    scene: dict,
    rng: np.random.Generator,
    options: RecipeOptions,
    extras: np.random.Generator | None = None,
    empty: bool = False,
) -> ClipPlan:
    events: tuple[EventPlan, ...] = ()
    if not empty:
        targets = options.target_set
        labels = pool.labels if targets is None else [lab for lab in pool.labels if lab in targets]
        try:
            rows = _pick_events(pool.events, labels, rng, options.n_events, pool.fold, repeats=options.repeats)
        except RemixError as exc:
            if targets is None:
                raise
            raise RemixError(f"{exc} (--targets leaves {len(labels)} of the fold's classes: name more)") from None
        events = _plan_events(rows, rng, options, clip_id)
    if options.interference:
        assert extras is not None
        interference = _plan_interference(pool, extras, options, clip_id)
        events = tuple(sorted(events + interference, key=lambda e: (e.onset, e.label, not e.target)))
    return ClipPlan(
        clip_id=clip_id,
        split=split,
        fold=pool.fold,
        scene_path=str(scene["path"]),
        scene_file=str(scene["filename"]),
        scene_label=str(scene["scene_label"]),
        city=str(scene["city"]),
        scene_identifier=str(scene["identifier"]),
        events=events,
    )


def plan_corpus(
    scenes: pd.DataFrame,
    events: pd.DataFrame,
    *,
    options: RecipeOptions,
    seed: int,
    usable: set[str] | None = None,
    rooms: Rooms | None = None,
) -> list[ClipPlan]:
    """Plan every clip of a corpus.

    Parameters
    ----------
    scenes : pd.DataFrame
        All rows of :func:`remix.sources.read_tau2019`.
    events : pd.DataFrame
        All rows of :func:`remix.sources.read_fsd2018`, plus ``n_samples`` (the
        source's length at the output rate) and ``source_file`` (its name
        relative to the events folder).
    options : RecipeOptions
        The recipe.
    seed : int
        Corpus seed.
    usable : set of str, optional
        Paths that passed the source checks; other rows are not used (they
        still count for the fold and group assignment, which therefore does
        not move when a file turns out to be bad).
    rooms : Rooms, optional
        Reverberation (:mod:`remix.reverb`): every clip gets a room drawn from its own seed,
        keyed apart from the recipe's choices, which stay those of the dry corpus.

    Returns
    -------
    list of ClipPlan
        Development clips (fold 1-4, ``clip_id`` ``fold<k>_<index>``) then
        test clips (fold 0, ``test_<index>``), sorted by ``clip_id``.
    """
    options.validate()
    pools = fold_pools(scenes, events, options=options, seed=seed, usable=usable)
    plans: list[ClipPlan] = []
    for split, fold, n_clips in [("dev", k, options.clips_per_fold) for k in range(1, N_FOLDS + 1)] + [
        ("test", 0, options.n_test)
    ]:
        if n_clips == 0:
            continue
        pool = pools[fold]
        code = _DEV if split == "dev" else _TEST
        empty = _empty_indices(options, n_clips, seed, code, fold)
        for i in range(n_clips):
            clip_id = f"test_{i:05d}" if split == "test" else f"fold{fold}_{i:05d}"
            rng = np.random.default_rng(clip_seed(seed, split=split, fold=fold, index=i))
            scene = pool.scenes[i % len(pool.scenes)]
            extras = _extras_rng(seed, code, fold, i) if options.interference else None
            plan = _plan_clip(
                clip_id, split=split, pool=pool, scene=scene, rng=rng, options=options, extras=extras, empty=i in empty
            )
            if rooms is not None and rooms.options.active:
                plan = rooms.plan(plan, _DEV if split == "dev" else _TEST, fold, i, seed=seed)
            plans.append(plan)
    plans.sort(key=lambda p: p.clip_id)
    return plans


_FRESH = 2  # split code of fresh training mixtures inside seed keys


def plan_fresh(
    pools: dict[int, FoldPool],
    *,
    options: RecipeOptions,
    seed: int,
    folds: tuple[int, ...],
    n_per_fold: int,
    key: tuple[int, ...],
    rooms: Rooms | None = None,
) -> list[ClipPlan]:
    """New clips from the sources of some folds: fresh training mixtures.

    Each clip follows the corpus's recipe from its fold's own sources (:func:`fold_pools`),
    with a scene drawn at random from the fold's scenes instead of the corpus's cycle. Its
    random choices come from the corpus seed keyed by ``key`` (e.g. run seed and epoch), the
    fold and the clip's index, so a clip depends on nothing else (not on the number of
    processes, nor on the other clips).

    Parameters
    ----------
    pools : dict of int to FoldPool
        :func:`fold_pools` of the corpus.
    options : RecipeOptions
        The corpus's recipe.
    seed : int
        The corpus seed.
    folds : tuple of int
        Folds to draw from (the run's training folds; never its validation fold or the test split).
    n_per_fold : int
        Clips per fold.
    key : tuple of int
        What makes this set of clips new (non-negative integers).
    rooms : Rooms, optional
        The corpus's reverberation: every clip gets a fresh room.

    Returns
    -------
    list of ClipPlan
        ``fresh<fold>_<index>`` clips, fold by fold.
    """
    if n_per_fold < 1 or not folds:
        raise RemixError(f"fresh mixtures need at least one fold and one clip per fold, found {folds}, {n_per_fold}")
    plans = []
    for fold in folds:
        if fold not in pools or fold == 0:
            raise RemixError(f"fresh training mixtures draw from development folds only, found fold {fold}")
        pool = pools[fold]
        for i in range(n_per_fold):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_FRESH, *key, fold, i)))
            scene = pool.scenes[int(rng.integers(len(pool.scenes)))]
            extras = _extras_rng(seed, _FRESH, *key, fold, i)
            empty = options.empty_clips > 0 and bool(extras.random() < options.empty_clips)  # a share in expectation
            plan = _plan_clip(
                f"fresh{fold}_{i:05d}",
                split="dev",
                pool=pool,
                scene=scene,
                rng=rng,
                options=options,
                extras=extras,
                empty=empty,
            )
            if rooms is not None and rooms.options.active:
                plan = rooms.plan(plan, _FRESH, *key, fold, i, seed=seed)
            plans.append(plan)
    return plans


def plan_digest(plans: list[ClipPlan]) -> str:
    """Short hash of a list of plans (changes when any choice changes)."""
    h = hashlib.sha256()
    for p in plans:
        h.update(repr(p).encode())  # frozen dataclasses of str/int: a stable, complete repr
        if p.room is not None:  # dry plans hash as they always have
            h.update(repr(p.room).encode())
        if not all(e.target for e in p.events):  # so do plans without interference
            h.update(repr([e.target for e in p.events]).encode())
        h.update(b"\n")
    return h.hexdigest()[:16]
