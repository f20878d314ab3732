"""How easy are the event sources? A linear probe on log-mel statistics of every event file.

Real recordings of a class vary (microphones, rooms, takes, players), so a linear classifier on
simple spectral statistics separates real classes less well than it separates clean synthetic
ones: the lower the probe's score, the closer a source set is to real data in this respect.

For an events folder in the FSDKaggle2018 layout (default: the embedded stand-in, written into
the cache first), every manually verified training file (what the paper recipe places) is read
at 32 kHz; its first 2 s (the longest placed event) become a 64-band log-mel (hop 10 ms); the
per-band mean and standard deviation over time are its 128 features. A multinomial logistic
regression (standardised features, L2, C=1) is scored by stratified 5-fold cross-validation:
balanced accuracy, mean and standard deviation over the folds, against chance (1/41).

``--classes A,B`` keeps only the classes named. ``--recorded-classes DIR`` keeps only the
classes that the stand-in in DIR plays from recordings (its event CSVs' ``origin`` column), so
two stand-ins can be compared on the same classes. For a
stand-in whose CSVs carry ``origin``, the script also lists, per recorded class, how many distinct
package recordings its clips draw from.

Run from the repository root: ``python benchmarks/standin_realism.py [--events DIR]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlog import append  # noqa: E402

from remix.sources import read_fsd2018  # noqa: E402
from remix.standin import ensure_sources  # noqa: E402

RATE = 32000
PLACED_S = 2.0


def features(path: str) -> np.ndarray:
    """Mean and std over time of a 64-band log-mel of the file's first 2 s (shape (128,))."""
    import librosa
    import soundfile as sf
    import soxr

    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    x = audio.mean(axis=1)
    if rate != RATE:
        x = soxr.resample(x, rate, RATE)
    x = x[: int(PLACED_S * RATE)]
    mel = librosa.feature.melspectrogram(y=x, sr=RATE, n_fft=1024, hop_length=320, n_mels=64, power=2.0)
    logmel = np.log(mel + 1e-8)
    return np.concatenate([logmel.mean(axis=1), logmel.std(axis=1)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, default=None, help="Folder holding FSDKaggle2018.audio_train/ etc.")
    parser.add_argument("--name", default=None, help="What the log calls this source set (default: the folder).")
    parser.add_argument(
        "--recorded-classes",
        type=Path,
        default=None,
        help="Only the classes the stand-in events folder DIR plays from recordings.",
    )
    parser.add_argument("--classes", default=None, help="Only these classes, comma-separated.")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-log", action="store_true")
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    events_dir = args.events if args.events is not None else ensure_sources(progress=True).events_dir
    table = read_fsd2018(events_dir)
    used = table[(table["split"] == "train") & table["manually_verified"].astype(bool)]
    if args.recorded_classes is not None:
        origins = _origins(args.recorded_classes)
        if origins is None:
            parser.error(f"{args.recorded_classes} has no origin column: not a recorded stand-in")
        used = used[used["label"].isin(set(origins.loc[origins["origin"].str.startswith("recorded:"), "label"]))]
    if args.classes is not None:
        wanted = {c.strip() for c in args.classes.split(",") if c.strip()}
        unknown = sorted(wanted - set(table["label"]))
        if unknown:
            parser.error(f"--classes names no class of {events_dir}: {', '.join(unknown)}")
        used = used[used["label"].isin(wanted)]
    own = _origins(events_dir)
    if own is not None:
        _print_recordings(own, events_dir)
    x = np.stack([features(p) for p in used["path"]])
    y = used["label"].to_numpy()
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=0)
    scores = cross_val_score(probe, x, y, cv=folds, scoring="balanced_accuracy")
    n_classes = len(set(y))
    name = args.name or str(events_dir)
    print(
        f"{name}: {len(y)} files, {n_classes} classes; linear probe balanced accuracy "
        f"{scores.mean():.3f} ± {scores.std():.3f} over {args.folds} folds (chance {1 / n_classes:.3f})"
    )
    if not args.no_log:
        append(
            benchmark="standin_realism",
            figure=f"linear probe on log-mel statistics, balanced accuracy ({name})",
            value=round(float(scores.mean()), 3),
            unit="",
            settings={"files": len(y), "classes": n_classes, "folds": args.folds, "std": round(float(scores.std()), 3)},
        )


def _origins(events_dir: Path):
    """The stand-in's event CSV rows (label, origin), or None when it does not record origins."""
    import pandas as pd

    from remix.sources.fsd2018 import META_DIR, TRAIN_CSV

    table = pd.read_csv(Path(events_dir) / META_DIR / TRAIN_CSV)
    return table if "origin" in table.columns else None


def _print_recordings(origins, events_dir: Path) -> None:
    """Per recorded class: clips, and the distinct package recordings they draw from."""
    import json

    from remix.standin.recorded import gather
    from remix.standin.writer import cache_root

    info_path = Path(events_dir).parent / "standin.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    found = gather(cache_root(), gpl=info.get("events") == "recorded-gpl").recordings
    recorded = origins[origins["origin"].str.startswith("recorded:")]
    for label, rows in recorded.groupby("label"):
        count = len(found.get(label, ()))
        print(f"  {label}: {len(rows)} clips from {count} distinct recordings ({rows['origin'].iat[0]})")


if __name__ == "__main__":
    main()
