"""The options of ``remix build``, each defined once: its name, what it holds, its default, its help.

The command line (:mod:`remix.cli`), options files (:mod:`remix.buildconfig`, ``--config`` and the
``build.toml`` every corpus holds) and the library's option objects
(:class:`remix.recipe.RecipeOptions`, :class:`remix.render.RenderSettings`) all read their
defaults and descriptions from :data:`BUILD_OPTIONS`. This module imports nothing heavy, so the
command line starts fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECIPES: tuple[str, ...] = ("paper", "random")
"""Recipe names :func:`remix.recipe.plan_corpus` knows."""
SNR_MODES: tuple[str, ...] = ("rms", "lufs")
"""SNR definitions (:mod:`remix.levels`)."""
STANDINS: tuple[str, ...] = ("procedural", "recorded", "recorded-gpl")
"""What the built-in stand-in's events are made of (:data:`remix.standin.writer.STANDIN_KINDS`)."""
DEFAULT_STANDIN = "recorded"
"""The stand-in a build without ``--scenes/--events`` uses unless ``--standin`` says otherwise: recorded
events where openly licensed packages cover a class (fetched once), procedural for the rest, and for
every class whose package cannot be had here."""
FORMATS: tuple[str, ...] = ("flac", "wav")
"""Audio containers of the mixes (16-bit PCM)."""


@dataclass(frozen=True)
class Kind:
    """What an option holds: a name for messages and, for strings, the allowed values."""

    name: str
    choices: tuple[str, ...] = ()


NUMBERS = Kind("a number or an array of numbers")
NUMBER = Kind("a number")
INTEGER = Kind("an integer")
BOOLEAN = Kind("true or false")
PATH = Kind("a path (a string)")
STRING = Kind("a string")
RANGE = Kind("an array of two numbers (the lowest and the highest)")
REVERB = Kind('"none", "simulated" or the path of a folder of WAV impulse responses')


@dataclass(frozen=True)
class BuildOption:
    """One option of ``remix build``.

    Attributes
    ----------
    name : str
        The name in Python and in options files (``clips_per_fold``; ``--clips-per-fold`` on the
        command line).
    kind : Kind
    default : object
        The default (None: decided from other options, as the help says).
    help : str
        One line for ``--help``.
    in_file : bool
        Whether an options file may set it (``overwrite`` is consented to on the command line only).
    corpus : bool
        Whether it changes the corpus (and is written back into its ``build.toml``).
    listed_at_default : bool
        Whether a corpus's ``build.toml`` lists it at its default (False for options added after
        corpora were built without them, so that those builds' files read as they always did).
    target : str or None
        Where a corpus option's value goes: ``"<object>.<field>"`` with the object one of
        ``recipe`` (:class:`remix.recipe.RecipeOptions`), ``render``
        (:class:`remix.render.RenderSettings`), ``reverb`` (:class:`remix.reverb.ReverbOptions`)
        or ``sources`` (:class:`remix.build.SourceFolders`), or ``"seed"``
        (:class:`remix.buildconfig.BuildConfig` maps both ways from it). None for options of the
        run (where the corpus goes, workers...).
    """

    name: str
    kind: Kind
    default: Any
    help: str
    in_file: bool = True
    corpus: bool = True
    target: str | None = None
    listed_at_default: bool = True


BUILD_OPTIONS: dict[str, BuildOption] = {
    o.name: o
    for o in (
        # the corpus options, in the order a corpus's build.toml lists them
        BuildOption("snr", NUMBERS, None, "SNRs in dB: --snr 0 10 20.", target="render.snrs"),
        BuildOption(
            "recipe",
            Kind("a string", RECIPES),
            "paper",
            "paper: the original layout; random: random layout.",
            target="recipe.recipe",
        ),
        BuildOption("clips_per_fold", INTEGER, 2000, "Clips in each of the 4 folds.", target="recipe.clips_per_fold"),
        BuildOption(
            "test_clips",
            INTEGER,
            None,
            "Clips of the held-out test split (default: clips-per-fold / 4, rounded up).",
            target="recipe.test_clips",
        ),
        BuildOption(
            "events_per_clip",
            INTEGER,
            None,
            "Events per clip (default: 3; the paper recipe has exactly 3).",
            target="recipe.events_per_clip",
        ),
        BuildOption("max_event_s", NUMBER, 2.0, "Longest placed event (s).", target="recipe.max_event_s"),
        BuildOption(
            "min_event_s", NUMBER, 0.5, "Shortest placed event, random recipe (s).", target="recipe.min_event_s"
        ),
        BuildOption("max_polyphony", INTEGER, 2, "Most events at once, random recipe.", target="recipe.max_polyphony"),
        BuildOption(
            "fade_ms",
            NUMBER,
            None,
            "Fade at cuts in ms (default: 0 for paper, 10 for random).",
            target="recipe.fade_s",
        ),
        BuildOption(
            "empty_clips",
            NUMBER,
            0.0,
            "Share of each fold's clips without any target event (the scene alone, or with --interference), in [0, 1).",
            target="recipe.empty_clips",
            listed_at_default=False,
        ),
        BuildOption(
            "repeats",
            BOOLEAN,
            False,
            "Let a clip's target events share a class (each occurrence labelled; overlapping ones of a class "
            "merged in the strong labels).",
            target="recipe.repeats",
            listed_at_default=False,
        ),
        BuildOption(
            "interference",
            INTEGER,
            0,
            "Events per clip of classes outside --targets, mixed in but never labelled.",
            target="recipe.interference",
            listed_at_default=False,
        ),
        BuildOption(
            "targets",
            STRING,
            None,
            "The labelled classes, comma-separated (e.g. Bark,Cello,Meow) or @FILE (one per line); the others "
            "only interfere. Default: every class.",
            target="recipe.targets",
        ),
        BuildOption("seed", INTEGER, 0, "Seed of every random choice.", target="seed"),
        BuildOption(
            "snr_mode",
            Kind("a string", SNR_MODES),
            "rms",
            "rms (the original) or lufs (Scaper's).",
            target="render.snr_mode",
        ),
        BuildOption("ref_lufs", NUMBER, -24.0, "Scene loudness in lufs mode (LUFS).", target="render.ref_lufs"),
        BuildOption(
            "format", Kind("a string", FORMATS), "flac", "Audio container (16-bit).", target="render.audio_format"
        ),
        BuildOption(
            "stems", BOOLEAN, False, "Also write float32 stems of the scene and every event.", target="render.stems"
        ),
        BuildOption(
            "scenes", PATH, None, "TAU Urban Acoustic Scenes 2019 development folder.", target="sources.scenes_dir"
        ),
        BuildOption(
            "events", PATH, None, "Folder holding FSDKaggle2018.audio_train/ etc.", target="sources.events_dir"
        ),
        BuildOption(
            "reverb",
            REVERB,
            "none",
            "Reverberation per event: none (dry, the paper's), simulated (a simulated shoebox room per clip) "
            "or a folder of WAV impulse responses.",
            target="reverb.source",
        ),
        BuildOption(
            "rt60_s",
            RANGE,
            [0.2, 0.8],
            "Range of a simulated room's reverberation time (s): LOW HIGH.",
            target="reverb.rt60_s",
        ),
        BuildOption(
            "room_floor_m",
            RANGE,
            [3.0, 12.0],
            "Range of a simulated room's length and width (m).",
            target="reverb.room_floor_m",
        ),
        BuildOption(
            "room_height_m", RANGE, [2.5, 4.5], "Range of a simulated room's height (m).", target="reverb.room_height_m"
        ),
        BuildOption(
            "source_distance_m",
            RANGE,
            [1.0, 4.0],
            "Range of an event's distance to the microphone (m).",
            target="reverb.source_distance_m",
        ),
        BuildOption(
            "standin",
            Kind("a string", STANDINS),
            None,
            "Without --scenes/--events, the built-in stand-in's events: recorded (the default: recordings from "
            "openly licensed packages where they cover a class, fetched once; procedural where they cannot be "
            "had), procedural (synthesised) or recorded-gpl (recorded, plus GPL-licensed recordings; the corpus "
            "then inherits the GPL).",
            target="sources.standin",
        ),
        BuildOption(
            "licences",
            STRING,
            None,
            "Only event sources under these licences, comma-separated: cc0, mit, cc-by, cc-by-sa, cc-by-nc, "
            "gpl-2.0 (e.g. cc0,mit); the others are listed as skipped. Default: every licence.",
            target="sources.licences",
        ),
        # how the build runs: none of it changes the corpus
        BuildOption(
            "out",
            PATH,
            Path("data/corpus"),
            "Corpus folder (new, or an earlier build to resume); `bench run` reads data/corpus by default.",
            corpus=False,
        ),
        BuildOption("workers", INTEGER, 1, "Processes (the output does not depend on it).", corpus=False),
        BuildOption("strict", BOOLEAN, False, "Fail on any unusable source file instead of skipping it.", corpus=False),
        BuildOption(
            "commercial",
            BOOLEAN,
            False,
            "Refuse a corpus that may not be used commercially (TAU scenes are for non-commercial research "
            "only; CC-BY-NC event clips).",
            corpus=False,
        ),
        BuildOption(
            "overwrite",
            BOOLEAN,
            False,
            "Replace the remix build in --out (only a folder remix built; never files it did not write).",
            in_file=False,
            corpus=False,
        ),
        BuildOption("progress", BOOLEAN, True, "Show progress bars.", corpus=False),
        BuildOption(
            "cluster",
            STRING,
            None,
            "Render on a Dask cluster: local:N (N worker processes here) or a scheduler's tcp://host:port; "
            "workers must see the sources and --out at the same paths.",
            corpus=False,
        ),
    )
}
"""Every option of ``remix build``, by name."""


def default(name: str) -> Any:
    """The default of option ``name``."""
    return BUILD_OPTIONS[name].default


def help_text(name: str) -> str:
    """The ``--help`` line of option ``name``."""
    return BUILD_OPTIONS[name].help
