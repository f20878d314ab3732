"""Peak memory of `bench detect` on long recordings: bounded whatever the length.

Writes a 48 kHz stereo 16-bit WAV of each length (default 1 min and 1 h of noise with
bursts), then runs :func:`bench.inference.detect.detect` on it in a fresh process with a model of
the ``cpu-full`` preset (untrained weights: the memory is the pipeline's, not the
weights'), and reports that process's peak resident memory (``ru_maxrss``) and wall time.
With ``--whole`` it also reports the peak of decoding the file whole
(:func:`bench.inference.recordings.decode_audio`), which is what detection held before it streamed.
Figures go to ``benchmarks/log.tsv``.

Run from the repository root::

    python benchmarks/detect_memory.py                    # 1 min and 1 h
    python benchmarks/detect_memory.py --minutes 1 10     # other lengths
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from benchlog import append  # noqa: E402

RATE = 48000

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
mode, wav, model, out = sys.argv[2], Path(sys.argv[3]), sys.argv[4], Path(sys.argv[5])
start = time.perf_counter()
if mode == "whole":
    from bench.inference.recordings import decode_audio
    wave, _ = decode_audio(wav, sample_rate=32000)
    n = int(wave.shape[0])
else:
    import models
    from bench.inference.detect import detect
    from bench.inference.export import RunScorer
    from bench.features import Standardizer
    from bench.presets import get_preset
    from remix.labels import EVENT_LABELS
    preset = get_preset("cpu-full")
    n_frames = preset.n_frames(320000)
    net = models.build(model, n_mels=preset.features.n_mels, n_frames=n_frames, width=preset.width,
                       prior=preset.prior, seed=0).eval()
    std = Standardizer.from_dict({"mean": [0.0] * preset.features.n_mels, "std": [1.0] * preset.features.n_mels})
    scorer = RunScorer(net, settings=preset.features, standardizer=std, n_frames=n_frames,
                       class_names=list(EVENT_LABELS), config={"model": model}, postprocessing=None)
    result = detect([wav], results_dir=Path("."), run_id="benchmark", out=out, scorer=scorer, overwrite=True)
    n = len(result.events)
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": time.perf_counter() - start, "n": n}))
"""


def write_recording(path: Path, minutes: float, *, seed: int = 0) -> None:
    """A stereo 48 kHz 16-bit WAV: quiet noise with a louder burst every 7 s, written in blocks."""
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * RATE)
    block = 60 * RATE
    with sf.SoundFile(path, "w", samplerate=RATE, channels=2, subtype="PCM_16") as f:
        for start in range(0, total, block):
            n = min(block, total - start)
            x = rng.normal(0, 0.02, (n, 2)).astype(np.float32)
            t = (np.arange(start, start + n) / RATE) % 7.0
            x[(t > 3.0) & (t < 3.5)] *= 15
            f.write(x)


def measure(mode: str, wav: Path, *, model: str, out: Path) -> dict:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), mode, str(wav), model, str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 60.0])
    parser.add_argument("--model", default="gap")
    parser.add_argument("--whole", action="store_true", help="also the peak of decoding each file whole")
    parser.add_argument("--no-log", action="store_true")
    args = parser.parse_args()
    if any(m <= 0 for m in args.minutes):
        parser.error("--minutes takes positive lengths")
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            wav = Path(tmp) / f"rec_{minutes:g}min.wav"
            t0 = time.perf_counter()
            write_recording(wav, minutes)
            size_mb = wav.stat().st_size / 1e6
            modes = ["stream", "whole"] if args.whole else ["stream"]
            for mode in modes:
                result = measure(mode, wav, model=args.model, out=Path(tmp) / "events.tsv")
                label = "detect (streamed)" if mode == "stream" else "decode whole (before)"
                print(
                    f"{minutes:g} min ({size_mb:.0f} MB WAV, written in {time.perf_counter() - t0:.0f} s): {label}: "
                    f"peak {result['peak_mb']:.0f} MB, {result['seconds']:.1f} s",
                    flush=True,
                )
                if not args.no_log:
                    append(
                        benchmark="detect_memory",
                        figure=f"peak_rss_{mode}",
                        value=result["peak_mb"],
                        unit="MB",
                        settings={
                            "minutes": minutes,
                            "rate": RATE,
                            "channels": 2,
                            "model": args.model,
                            "preset": "cpu-full",
                            "seconds": round(result["seconds"], 1),
                        },
                    )


if __name__ == "__main__":
    main()
