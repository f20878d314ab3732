"""Cost of reverberation per clip: dry against simulated rooms against a folder of responses.

Builds the same corpus plans (embedded stand-in sources, one worker, every SNR) three ways:
dry (the paper's), ``--reverb simulated`` (one pyroomacoustics image-source room per clip, the
default ranges) and ``--reverb DIR`` (a folder of 20 recorded-like responses, 0.2-0.8 s RT60,
48 kHz stereo, written once beforehand). Each is built ``--repeats`` times into fresh folders
after one warm-up; the figure is the median over repeats of the whole build's CPU time per
clip (all SNRs of a clip), and the median wall time of one room's simulation is given apart.

Run from the repository root: ``python benchmarks/reverb_speed.py``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlog import append  # noqa: E402

from remix.build import RunOptions, SourceFolders, build_corpus  # noqa: E402
from remix.recipe import RecipeOptions  # noqa: E402
from remix.render import RenderSettings  # noqa: E402
from remix.reverb import ReverbOptions, plan_room, simulate_room  # noqa: E402
from remix.standin import ensure_sources  # noqa: E402


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _response_folder(folder: Path, *, n: int = 20, rate: int = 48000) -> Path:
    """``n`` noise-tail responses (exponential decay, RT60 0.2-0.8 s, a direct path 5 ms in), stereo."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        rt60 = 0.2 + 0.6 * k / max(n - 1, 1)
        t = np.arange(int(1.2 * rt60 * rate)) / rate
        h = rng.normal(scale=0.05, size=(t.size, 2)) * 10 ** (-3 * t / rt60)[:, None]
        h[: int(0.005 * rate)] = 0.0
        h[int(0.005 * rate)] = 1.0
        sf.write(str(folder / f"ir{k:02d}.wav"), h, rate, subtype="FLOAT")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips-per-fold", type=int, default=10)
    parser.add_argument("--snr", type=float, nargs="+", default=[0.0, 10.0, 20.0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rooms", type=int, default=30, help="Rooms simulated for the per-room figure.")
    args = parser.parse_args()

    sources = ensure_sources(progress=True)
    work = Path(tempfile.mkdtemp(prefix="reverb-speed-"))
    settings = {"clips_per_fold": args.clips_per_fold, "snrs": args.snr, "repeats": args.repeats}
    try:
        ways = {
            "dry": ReverbOptions(),
            "simulated": ReverbOptions(source="simulated"),
            "folder": ReverbOptions(source=str(_response_folder(work / "irs"))),
        }
        per_clip: dict[str, float] = {}
        for name, reverb in ways.items():
            figures = []
            for k in range(args.repeats + 1):
                out = work / f"{name}{k}"
                cpu0 = _cpu_seconds()
                summary = build_corpus(
                    out,
                    recipe=RecipeOptions(clips_per_fold=args.clips_per_fold),
                    render=RenderSettings(snrs=tuple(args.snr)),
                    sources=SourceFolders(sources.scenes_dir, sources.events_dir),
                    run=RunOptions(workers=1, progress=False),
                    reverb=reverb,
                )
                ms = (_cpu_seconds() - cpu0) * 1000.0 / summary.n_clips
                warm = " (warm-up)" if k == 0 else ""
                print(f"{name} build {k}: {summary.n_clips} clips, {ms:.1f} ms CPU per clip{warm}")
                if k > 0:
                    figures.append(ms)
                shutil.rmtree(out)
            per_clip[name] = statistics.median(figures)
            append(
                benchmark="reverb_speed",
                figure=f"{name} build, CPU per clip (all SNRs)",
                value=round(per_clip[name], 1),
                unit="ms",
                settings=settings,
            )
        rng = np.random.default_rng(1)
        walls = []
        for _ in range(args.rooms):
            room = plan_room(rng, options=ways["simulated"], n_events=3)
            t0 = time.perf_counter()
            simulate_room(room, sample_rate=32000)
            walls.append(time.perf_counter() - t0)
        room_ms = statistics.median(walls) * 1000.0
        append(
            benchmark="reverb_speed",
            figure="one simulated room of 3 events (median)",
            value=round(room_ms, 1),
            unit="ms",
            settings={"rooms": args.rooms, "p90_ms": round(float(np.percentile(walls, 90)) * 1000.0, 1)},
        )
        print(
            "\n".join(f"{n}: {v:.1f} ms CPU per clip ({v / per_clip['dry']:.1f}x dry)" for n, v in per_clip.items())
            + f"\none simulated room of 3 events: median {room_ms:.0f} ms, 90th percentile "
            f"{np.percentile(walls, 90) * 1000:.0f} ms over {args.rooms} rooms"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
