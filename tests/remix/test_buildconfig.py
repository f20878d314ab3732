"""Build options files: reading and checking them, and writing a build's options back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from remix.buildconfig import OPTIONS, corpus_options, corpus_toml, read_config, recipe_and_render
from remix.errors import RemixError
from remix.recipe import RecipeOptions
from remix.render import RenderSettings


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "options.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_values_are_checked_and_converted(tmp_path):
    path = _config(
        tmp_path,
        'snr = 5\nclips-per-fold = 3\nmax_event_s = 1\nrecipe = "random"\nstems = true\n'
        'scenes = "src/tau"\nevents = "/abs/fsd"\nout = "~/corpus"\n',
    )
    options = read_config(path)
    assert options["snr"] == [5.0] and isinstance(options["snr"][0], float)
    assert (
        options["clips_per_fold"] == 3 and options["max_event_s"] == 1.0 and isinstance(options["max_event_s"], float)
    )
    assert options["recipe"] == "random" and options["stems"] is True
    assert options["scenes"] == tmp_path.resolve() / "src" / "tau"  # relative to the file's folder
    assert options["events"] == Path("/abs/fsd") and options["out"] == Path("~/corpus").expanduser()
    assert read_config(_config(tmp_path, "snr = [0, 2.5]"))["snr"] == [0.0, 2.5]


@pytest.mark.parametrize(
    "text, message",
    [
        ("clip_per_fold = 3", "unknown option 'clip_per_fold'; did you mean 'clips_per_fold'?"),
        ("[build]\nsnr = [0]", "unknown option 'build'"),
        ('clips_per_fold = "100"', 'clips_per_fold must be an integer, found the string "100"'),
        ("clips_per_fold = 100.0", "clips_per_fold must be an integer, found the float 100.0"),
        ('snr = ["ten"]', "snr must be a number or an array of numbers, found an array"),
        ("snr = []", "snr is an empty array"),
        ("snr = true", "snr must be a number or an array of numbers, found the boolean true"),
        ('recipe = "papr"', 'recipe must be one of "paper", "random", found the string "papr"'),
        ('format = "mp3"', 'format must be one of "flac", "wav"'),
        ("stems = 1", "stems must be true or false, found the integer 1"),
        ("ref_lufs = nan", "ref_lufs must be a finite number"),
        ("scenes = 3", "scenes must be a path (a string), found the integer 3"),
        ("seed = 1\nseed = 2", "is not valid TOML"),
        ("snr = [0", "is not valid TOML"),
        ("clips_per_fold = 1\nclips-per-fold = 2", "clips_per_fold is given twice"),
    ],
)
def test_wrong_files_give_one_clear_error(tmp_path, text, message):
    path = _config(tmp_path, text)
    with pytest.raises(RemixError, match=re.escape(message)) as info:
        read_config(path)
    assert str(path) in str(info.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(RemixError, match="does not exist"):
        read_config(tmp_path / "missing.toml")
    with pytest.raises(RemixError, match="cannot read the options file"):
        read_config(tmp_path)
    (tmp_path / "latin1.toml").write_bytes("recipe = 'caf\xe9'".encode("latin-1"))
    with pytest.raises(RemixError, match="not UTF-8"):
        read_config(tmp_path / "latin1.toml")


@pytest.mark.parametrize(
    "recipe, render, seed",
    [
        (RecipeOptions(), RenderSettings(snrs=(0.0, 10.0, 20.0)), 0),
        (
            RecipeOptions(
                recipe="random",
                clips_per_fold=7,
                test_clips=0,
                events_per_clip=5,
                max_event_s=3.5,
                min_event_s=0.25,
                max_polyphony=3,
                fade_s=0.0003,
            ),
            RenderSettings(snrs=(-5.0, 7.5), snr_mode="lufs", ref_lufs=-30.0, audio_format="wav", stems=True),
            2**40,
        ),
    ],
)
def test_written_options_read_back_to_the_same_objects(tmp_path, recipe, render, seed):
    text = corpus_toml(recipe, render, seed=seed, scenes_dir=Path("/data/tau"), events_dir=Path("/data/fsd"))
    options = read_config(_config(tmp_path, text))
    assert recipe_and_render(options) == (recipe, render)
    assert options["seed"] == seed and options["scenes"] == Path("/data/tau") and options["events"] == Path("/data/fsd")
    assert set(options) <= set(OPTIONS) and not {"out", "workers", "cluster", "overwrite", "strict"} & set(options)


def test_defaults_and_the_stand_in_are_left_out():
    options = corpus_options(RecipeOptions(), RenderSettings(snrs=(0.0,)), seed=0)
    assert not {"test_clips", "events_per_clip", "fade_ms", "scenes", "events"} & set(options)
    text = corpus_toml(RecipeOptions(), RenderSettings(snrs=(0.0,)), seed=0)
    assert "the built-in stand-in" in text and "Left to their defaults: test_clips, events_per_clip, fade_ms" in text
    assert "Not settable" not in text


def test_options_the_command_cannot_set_are_named():
    recipe = RecipeOptions(clip_duration_s=5.0, sample_rate=16000, onsets_s=(0.5, 2.5))
    text = corpus_toml(recipe, RenderSettings(snrs=(0.0,), sample_rate=16000, clip_samples=80000), seed=0)
    assert "cannot be repeated" in text and "clip_duration_s = 5.0" in text and "onsets_s = [0.5, 2.5]" in text


def test_build_config_is_generated_from_the_options_table():
    import dataclasses

    from remix.buildconfig import CORPUS_OPTIONS, BuildConfig
    from remix.options import BUILD_OPTIONS

    fields = dataclasses.fields(BuildConfig)
    assert [f.name for f in fields] == list(CORPUS_OPTIONS)
    assert list(CORPUS_OPTIONS) == [n for n, o in BUILD_OPTIONS.items() if o.corpus]
    for f in fields:  # each default is the table's (lists frozen as tuples)
        default = BUILD_OPTIONS[f.name].default
        assert f.default == (tuple(default) if isinstance(default, list) else default), f.name
    assert all(BUILD_OPTIONS[n].target for n in CORPUS_OPTIONS)  # every corpus option names where it goes
    assert not [n for n, o in BUILD_OPTIONS.items() if not o.corpus and o.target]


def test_build_config_round_trips_through_objects_options_and_toml(tmp_path):
    from remix.buildconfig import BuildConfig
    from remix.reverb import ReverbOptions

    given = {
        "snr": [-5.0, 7.5],
        "recipe": "random",
        "clips_per_fold": 7,
        "fade_ms": 12.5,
        "seed": 3,
        "snr_mode": "lufs",
        "format": "wav",
        "stems": True,
        "reverb": "simulated",
        "rt60_s": [0.3, 0.6],
        "standin": "procedural",
        "licences": "mit,cc0",
        "workers": 4,  # an option of the run: not part of the configuration
    }
    config = BuildConfig.from_options(given)
    recipe, render, reverb = config.recipe_options(), config.render_settings(), config.reverb_settings()
    assert recipe.fade_s == 0.0125 and render.snrs == (-5.0, 7.5) and render.audio_format == "wav"
    assert reverb == ReverbOptions(source="simulated", rt60_s=(0.3, 0.6))
    assert config.source_folders() == {
        "scenes_dir": None,
        "events_dir": None,
        "standin": "procedural",
        "licences": ("cc0", "mit"),
    }
    sources = config.source_folders()
    back = BuildConfig.from_objects(
        recipe,
        render,
        seed=config.seed,
        reverb=reverb,
        standin=sources["standin"],
        licences=sources["licences"],
    )
    assert back == config
    text = corpus_toml(recipe, render, seed=3, reverb=reverb, standin="procedural", licences=("cc0", "mit"))
    assert BuildConfig.from_file(_config(tmp_path, text)) == config
    assert corpus_options(recipe, render, seed=3, reverb=reverb, standin="procedural", licences=("cc0", "mit")) == (
        config.to_options()
    )
