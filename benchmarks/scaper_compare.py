"""remix against Scaper 1.6.5 on the same corpus: CPU time per output clip, side by side.

The job, the same for both tools: the ``paper`` recipe's clips (10 s; 3 events of the
stand-in FSDKaggle2018-like sources at onsets 0.5, 3.0 and 5.5 s, each at most 2 s
from the start of its file, placed into a stand-in TAU scene recording, 48 kHz
stereo 24-bit), at SNRs 0, 10 and 20 dB, written as 32 kHz mono audio, by one
process with one worker. An output clip is one clip at one SNR.

- remix: ``remix build --workers 1`` in a child process, once with ``--format wav``
  and once with FLAC (the default). The source check's cache is copied into each
  fresh corpus folder beforehand (as in ``remix_speed.py``): checking the sources
  is a one-off per corpus folder that Scaper has no counterpart for.
- Scaper: a child process in Scaper's own virtual environment renders every clip of
  the remix corpus at every SNR, from the same files (linked into the label folders
  Scaper expects) with the same scene, events, source offsets, onsets and
  durations, read from the remix manifests; one ``generate`` per output clip, WAV
  out, no JAMS or text annotations written (remix writes its manifests), one
  ``Scaper`` object reused for the whole run. Scaper's SNR is its own (LUFS against
  ``ref_db``), remix's the default RMS one: the gains differ, the work does not.

CPU time is user + sys of the child process and of its children (``os.wait4``), so
start-up and imports count, as they do for anyone who runs either tool. remix builds
once unmeasured (its source check reads every source file, warming the page cache
for both tools) and Scaper is imported once, then each runs ``--repeats`` times into
fresh folders; the medians are printed and appended to ``benchmarks/log.tsv``. The FLAC
figure is also split into the encoder (re-encoding the built corpus's clips at the
build's compression level into memory, timed on their own) and the rest, which is
to cost what the whole WAV build costs; the cost of writing a WAV file (header,
samples, fsync) is timed the same way.

Scaper environment, outside the repository (Scaper 1.6.5 fails on NumPy 2 and its
``soxbindings`` build needs the sox headers)::

    apt-get install -y libsox-dev sox
    python3 -m venv /work/scaper-venv
    /work/scaper-venv/bin/pip install "numpy<2" scaper==1.6.5

Give its interpreter with ``--scaper-python`` (default: ``$SCAPER_PYTHON``, else
``/work/scaper-venv/bin/python``). When it is missing, the Scaper half is skipped
with a message and only remix's figures are measured and logged.

Run from the repository root: ``python benchmarks/scaper_compare.py``. The stand-in
sources are written into the user cache first when missing (``$SEDREMIX_CACHE``
moves it), not timed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlog import append  # noqa: E402

DEFAULT_SCAPER_PYTHON = "/work/scaper-venv/bin/python"

SCAPER_JOB = r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
import scaper

spec = json.load(open(sys.argv[1]))
sc = scaper.Scaper(spec["duration"], spec["fg"], spec["bg"], random_state=0)
sc.sr = spec["sample_rate"]
sc.n_channels = 1
sc.fade_in_len = 0.0
sc.fade_out_len = 0.0
for clip in spec["clips"]:
    for snr in spec["snrs"]:
        sc.reset_bg_event_spec()
        sc.reset_fg_event_spec()
        sc.add_background(label=("const", clip["scene_label"]), source_file=("const", clip["scene"]),
                          source_time=("const", 0.0))
        for ev in clip["events"]:
            sc.add_event(label=("const", ev["label"]), source_file=("const", ev["file"]),
                         source_time=("const", ev["start"]), event_time=("const", ev["onset"]),
                         event_duration=("const", ev["duration"]), snr=("const", snr),
                         pitch_shift=None, time_stretch=None)
        sc.generate(audio_path=f"{spec['out']}/{clip['clip_id']}_snr{snr:g}.wav", jams_path=None,
                    fix_clipping=True, disable_instantiation_warnings=True)
"""


def run_child(cmd: list[str], *, env: dict | None = None) -> tuple[float, float]:
    """Run a command; return (CPU seconds of it and its children, wall seconds). Fails loudly."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(output.decode(errors="replace")[-4000:])
        raise SystemExit(f"{cmd[0]} ... failed with exit status {proc.returncode}")
    return usage.ru_utime + usage.ru_stime, wall


def remix_build(out: Path, *, fmt: str, args: argparse.Namespace, sources, check_cache: Path | None) -> float:
    """One ``remix build`` into a fresh ``out``; its CPU seconds."""
    if check_cache is not None and check_cache.exists():
        (out / ".build").mkdir(parents=True)
        shutil.copy(check_cache, out / ".build" / "source_check.parquet")
    remix = Path(sys.executable).with_name("remix")
    cmd = [str(remix), "build", "--out", str(out), "--snr", *[f"{s:g}" for s in args.snr]]
    cmd += ["--clips-per-fold", str(args.clips_per_fold), "--workers", "1", "--format", fmt, "--no-progress"]
    cmd += ["--scenes", str(sources.scenes_dir), "--events", str(sources.events_dir)]
    cpu, _ = run_child(cmd)
    return cpu


def scaper_spec(corpus: Path, *, sources, work: Path, snrs: list[float], out: Path) -> Path:
    """The Scaper job for the clips of a remix corpus: label folders of links and a JSON spec."""
    import pandas as pd

    clips = pd.read_parquet(corpus / "manifest" / "clips.parquet")
    events = pd.read_parquet(corpus / "manifest" / "events.parquet")
    first = clips["snr_db"].min()
    clips = clips[clips["snr_db"] == first]
    events = events[events["snr_db"] == first]
    fg, bg = work / "foreground", work / "background"

    def link(root: Path, label: str, source: Path) -> str:
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / source.name
        if not target.exists():
            target.symlink_to(source)
        return str(target)

    by_clip = {cid: group for cid, group in events.groupby("clip_id", sort=False)}
    job = []
    for row in clips.itertuples():
        evs = []
        for ev in by_clip[row.clip_id].sort_values("event_index").itertuples():
            evs.append(
                {
                    "label": ev.event_label,
                    "file": link(fg, ev.event_label, Path(sources.events_dir) / ev.source_file),
                    "start": float(ev.source_start_s),
                    "onset": float(ev.onset_s),
                    "duration": float(ev.offset_s - ev.onset_s),
                }
            )
        scene = link(bg, row.scene_label, Path(sources.scenes_dir) / row.scene_file)
        job.append({"clip_id": row.clip_id, "scene": scene, "scene_label": row.scene_label, "events": evs})
    spec = {
        "duration": float(clips["duration_s"].iloc[0]),
        "sample_rate": int(clips["sample_rate"].iloc[0]),
        "fg": str(fg),
        "bg": str(bg),
        "snrs": snrs,
        "out": str(out),
        "clips": job,
    }
    path = work / "scaper_job.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    (work / "scaper_job.py").write_text(SCAPER_JOB, encoding="utf-8")
    return path


def flac_encode_ms(corpus: Path, *, limit: int = 120) -> float:
    """CPU ms to encode one clip of a FLAC corpus as the build does (into memory), median over clips."""
    import numpy as np
    import soundfile as sf

    from remix.render import FLAC_COMPRESSION_LEVEL

    files = sorted((corpus / "audio").rglob("*.flac"))
    step = max(1, len(files) // limit)
    times = []
    for path in files[::step]:
        pcm, rate = sf.read(str(path), dtype="int16")
        pcm = np.ascontiguousarray(pcm)
        buf = io.BytesIO()
        t0 = time.process_time()
        sf.write(buf, pcm, rate, format="FLAC", subtype="PCM_16", compression_level=FLAC_COMPRESSION_LEVEL)
        times.append(time.process_time() - t0)
    return statistics.median(times) * 1000.0


def wav_write_ms(corpus: Path, *, work: Path, limit: int = 120) -> float:
    """CPU ms to write one 16-bit clip as a WAV file as the build does (header, samples, fsync), median."""
    import numpy as np
    import soundfile as sf

    from remix.render import write_wav

    files = sorted((corpus / "audio").rglob("*.flac"))
    step = max(1, len(files) // limit)
    times = []
    target = work / "wav_write_probe.wav"
    for path in files[::step]:
        pcm, rate = sf.read(str(path), dtype="int16")
        pcm = np.ascontiguousarray(pcm)
        t0 = time.process_time()
        write_wav(target, pcm, sample_rate=rate, subtype="PCM_16")
        times.append(time.process_time() - t0)
    target.unlink()
    return statistics.median(times) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips-per-fold", type=int, default=50)
    parser.add_argument("--snr", type=float, nargs="+", default=[0.0, 10.0, 20.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scaper-python", default=os.environ.get("SCAPER_PYTHON", DEFAULT_SCAPER_PYTHON))
    parser.add_argument("--no-log", action="store_true", help="Print the figures only.")
    args = parser.parse_args()

    import pandas as pd

    from remix.standin import ensure_sources

    sources = ensure_sources(progress=True)
    scaper_python = Path(args.scaper_python)
    have_scaper = scaper_python.exists()
    if not have_scaper:
        print(
            f"Scaper half skipped: no interpreter at {scaper_python} (see this script's docstring for "
            "creating Scaper's environment, or pass --scaper-python); measuring remix only."
        )
    work = Path(tempfile.mkdtemp(prefix="scaper-compare-"))
    figures: dict[str, float] = {}
    try:
        check_cache = work / "source_check.parquet"
        warm = work / "warm"
        remix_build(warm, fmt="wav", args=args, sources=sources, check_cache=None)  # writes the check cache
        shutil.copy(warm / ".build" / "source_check.parquet", check_cache)
        n_out = len(pd.read_parquet(warm / "manifest" / "clips.parquet"))
        per: dict[str, list[float]] = {"remix_wav": [], "remix_flac": [], "scaper": []}
        spec = None
        if have_scaper:
            spec = scaper_spec(warm, sources=sources, work=work, snrs=args.snr, out=work / "scaper_out")
        for k in range(args.repeats + 1):  # run 0: warm-up, not counted
            for fmt in ("wav", "flac"):
                out = work / f"{fmt}{k}"
                cpu = remix_build(out, fmt=fmt, args=args, sources=sources, check_cache=check_cache)
                if k:
                    per[f"remix_{fmt}"].append(cpu * 1000.0 / n_out)
                if fmt == "flac" and k == args.repeats:
                    figures["flac_encode"] = flac_encode_ms(out)
                    figures["wav_write"] = wav_write_ms(out, work=work)
                    figures["flac_bytes"] = sum(p.stat().st_size for p in (out / "audio").rglob("*.flac")) / n_out
                shutil.rmtree(out)
            if spec is not None and k == 0:  # the sources are in the page cache already (remix read them)
                run_child([str(scaper_python), "-c", "import scaper"])
            elif spec is not None:
                scaper_out = work / "scaper_out"
                shutil.rmtree(scaper_out, ignore_errors=True)
                scaper_out.mkdir()
                cpu, _ = run_child([str(scaper_python), str(work / "scaper_job.py"), str(spec)])
                written = len(list(scaper_out.glob("*.wav")))
                if written != n_out:
                    raise SystemExit(f"Scaper wrote {written} clips, expected {n_out}")
                per["scaper"].append(cpu * 1000.0 / n_out)
            print(
                f"run {k}: "
                + ", ".join(f"{name} {vals[-1]:.2f} ms" for name, vals in per.items() if vals and k)
                + (" (warm-up, not counted)" if k == 0 else ""),
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    for name, vals in per.items():
        if vals:
            figures[name] = statistics.median(vals)
    load = os.getloadavg()[0]
    print(f"\n{n_out} output clips per build ({args.clips_per_fold} clips per fold x {len(args.snr)} SNRs), one worker")
    print(
        f"remix, WAV:   {figures['remix_wav']:.2f} ms CPU per output clip (median of {args.repeats}); "
        f"writing one WAV file {figures['wav_write']:.2f} ms of it"
    )
    flac_rest = figures["remix_flac"] - figures["flac_encode"]
    print(
        f"remix, FLAC:  {figures['remix_flac']:.2f} ms CPU per output clip: FLAC encoding "
        f"{figures['flac_encode']:.2f} ms, the rest {flac_rest:.2f} ms "
        f"({figures['flac_bytes'] / 1024:.0f} KiB per clip)"
    )
    if "scaper" in figures:
        print(f"Scaper 1.6.5: {figures['scaper']:.2f} ms CPU per output clip (median of {args.repeats})")
        print(
            f"Scaper / remix: {figures['scaper'] / figures['remix_wav']:.1f}x (WAV), "
            f"{figures['scaper'] / figures['remix_flac']:.1f}x (FLAC)"
        )
    print(f"load average {load:.1f} on {os.cpu_count()} cores (CPU times grow on a busy machine)")
    if args.no_log:
        return
    settings = {
        "clips_per_fold": args.clips_per_fold,
        "snrs": args.snr,
        "workers": 1,
        "repeats": args.repeats,
        "output_clips": n_out,
        "sources": f"synthetic stand-in ({sources.root.name})",
        "load_average": round(load, 2),
        "cpu": "user+sys of the child process and its children",
    }
    for key, figure in (
        ("remix_wav", "remix_wav_cpu_ms_per_output_clip"),
        ("remix_flac", "remix_flac_cpu_ms_per_output_clip"),
        ("flac_encode", "flac_encode_cpu_ms_per_clip"),
        ("wav_write", "wav_write_cpu_ms_per_clip"),
        ("scaper", "scaper_1.6.5_cpu_ms_per_output_clip"),
    ):
        if key in figures:
            append(benchmark="scaper_compare", figure=figure, value=figures[key], unit="ms", settings=settings)
    if "scaper" in figures:
        append(
            benchmark="scaper_compare",
            figure="scaper_over_remix_wav",
            value=figures["scaper"] / figures["remix_wav"],
            unit="x",
            settings=settings,
        )


if __name__ == "__main__":
    main()
