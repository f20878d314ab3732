"""Run folders: one folder per training run, every file written atomically.

Layout (``<runs_dir>`` is ``results/runs`` by default)::

    <runs_dir>/<run_id>/
        config.json               the full run config (run_id, model, alpha, snr_db, seed, preset,
                                  corpus_dir, corpus_synthetic, train_folds, val_folds, features, training ...)
        status.json               {"status": "running"|"done"|"failed", "reason": str|None, "updated": iso time,
                                   "pid": int, "host": str}  (pid/host: the process that wrote it)
        metrics.json              {"val": {...}, "test": {...} (optional), "best_epoch": int}
        predictions.parquet       clip_id, split, score_<label> x C, label_<label> x C
        frame_probs_<split>.npy   (N, T, C) float16, rows in the order of that split's predictions
        curves.parquet            one row per epoch: epoch, train_loss, train_bce, train_mse, val_micro_ap, lr, seconds
        checkpoint.pt, last.pt    best and latest training state
        last.prev.pt              the training state before last.pt (resume falls back to it when
                                  last.pt is damaged)

Every write goes to a hidden temporary file in the same folder and is moved into
place with ``os.replace``, so a reader never sees half a file and an interrupted
write leaves nothing behind (a temporary file of a killed process is removed by
:meth:`RunStore.remove_partials` on the next run). :func:`load_runs` gathers every
run into one table. A status still "running" whose process has ended (on this
host) reads as "failed". :func:`results_locked` gives one grid at a time a results
folder (``<runs_dir>/.lock``).
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import socket
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import BenchError
from remix.atomic import atomic_output as atomic_path
from remix.atomic import pid_alive, write_json
from remix.atomic import remove_partials as _remove_partials
from remix.atomic import write_bytes as atomic_write_bytes
from remix.atomic import write_text as atomic_write_text

__all__ = [
    "RUN_STATUSES",
    "RunStore",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "flatten_metrics",
    "load_runs",
    "load_torch",
    "results_locked",
    "runs_dir",
    "to_jsonable",
]

RUN_STATUSES = ("running", "done", "failed")
CONFIG, STATUS, METRICS = "config.json", "status.json", "metrics.json"
PREDICTIONS, CURVES = "predictions.parquet", "curves.parquet"
CHECKPOINT, LAST, LAST_PREV = "checkpoint.pt", "last.pt", "last.prev.pt"


# --------------------------------------------------------------------------- JSON


def to_jsonable(value: Any) -> Any:
    """Plain-JSON form of configs and metrics: numpy scalars and arrays, paths, tuples,
    dataclasses with ``to_dict``; NaN and infinities become None."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    if value is None or isinstance(value, str):
        return value
    return str(value)


def atomic_write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically (see :func:`to_jsonable`)."""
    return write_json(path, to_jsonable(data), sort_keys=False)


def atomic_write_parquet(path: Path, frame: pd.DataFrame) -> Path:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return Path(path)


def _read_json(path: Path, *, advice: str = "delete the run folder and run it again") -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BenchError(f"{path} is missing; the run has not written it yet (or was not started)") from None
    except (ValueError, OSError) as exc:
        raise BenchError(f"{path} is not valid JSON ({exc}); {advice}") from None


UNSAFE_PICKLE = (
    "holds pickled Python objects besides tensors and plain values (loading them could run code), so it was "
    "refused unread"
)
"""Why a run file that ``torch.load(weights_only=True)`` refuses is not loaded."""


def safe_torch_load(path: Path, *, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors, numbers, strings and containers only.

    Run folders are handed around (shared results, downloads with a paper); a checkpoint is
    data, and a pickle that names any other Python object is refused before anything in it
    runs. Raises :class:`UnsafeFileError` for such a file, the loader's own error for a
    damaged one.
    """
    import pickle

    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower() or "weights_only" in str(exc):
            raise UnsafeFileError(f"{path} {UNSAFE_PICKLE}") from None
        raise


class UnsafeFileError(BenchError):
    """A run file that would run code when loaded (see :func:`safe_torch_load`)."""


def load_torch(path: Path, *, what: str, advice: str, map_location: Any = "cpu") -> Any:
    """:func:`safe_torch_load` of a run file, with a one-line BenchError when it is missing,
    damaged or holds more than tensors and plain values.

    Parameters
    ----------
    path : Path
        The file.
    what : str
        What it is ("the best checkpoint").
    advice : str
        What to do when it cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"{what} {path} is missing; {advice}")
    try:
        return safe_torch_load(path, map_location=map_location)
    except UnsafeFileError:
        raise BenchError(f"{what} {path} {UNSAFE_PICKLE}; use only run folders you trust, or {advice}") from None
    except Exception as exc:  # truncated zip, unpickling errors, EOF: all mean a damaged file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BenchError(f"{what} {path} is damaged ({first}); {advice}") from None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- one run


def runs_dir(results_dir: Path) -> Path:
    """The runs folder of a results folder: ``results_dir/runs``, or ``results_dir`` itself
    when it already is a runs folder (its name is ``runs`` or it has no ``runs`` sub-folder
    but holds run folders)."""
    results_dir = Path(results_dir)
    if (results_dir / "runs").is_dir():
        return results_dir / "runs"
    if results_dir.name == "runs" or any(results_dir.glob(f"*/{CONFIG}")):
        return results_dir
    return results_dir / "runs"


class RunStore:
    """The folder of one run, ``root / run_id``.

    Parameters
    ----------
    root : Path
        The runs folder (``results/runs``).
    run_id : str
        Folder name of the run (the short config hash).
    """

    def __init__(self, root: Path, run_id: str) -> None:
        if not run_id or "/" in run_id or run_id in {".", ".."}:
            raise BenchError(f"invalid run id {run_id!r}: expected a plain folder name")
        self.root = Path(root)
        self.run_id = run_id
        self.path = self.root / run_id

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r}, {self.run_id!r})"

    # paths
    @property
    def checkpoint_path(self) -> Path:
        """Best checkpoint (``checkpoint.pt``)."""
        return self.path / CHECKPOINT

    @property
    def last_path(self) -> Path:
        """Latest training state for resume (``last.pt``)."""
        return self.path / LAST

    def frame_probs_path(self, split: str) -> Path:
        """``frame_probs_<split>.npy``."""
        return self.path / f"frame_probs_{split}.npy"

    def exists(self) -> bool:
        """True once a config was written."""
        return (self.path / CONFIG).is_file()

    # config / status / metrics
    def write_config(self, config: Mapping[str, Any]) -> Path:
        """Write ``config.json`` (a mapping or anything with ``to_dict``)."""
        data = to_jsonable(config)
        data.setdefault("run_id", self.run_id)
        return atomic_write_json(self.path / CONFIG, data)

    def read_config(self) -> dict[str, Any]:
        return _read_json(self.path / CONFIG)

    def write_status(self, status: str, reason: str | None = None) -> Path:
        """Write ``status.json``; ``status`` is one of ``running``, ``done``, ``failed``."""
        if status not in RUN_STATUSES:
            raise BenchError(f"unknown run status {status!r}; expected one of {RUN_STATUSES}")
        data = {"status": status, "reason": reason, "updated": _now(), "pid": os.getpid(), "host": socket.gethostname()}
        return atomic_write_json(self.path / STATUS, data)

    def mark_failed(self, reason: str) -> bool:
        """Record ``failed`` with ``reason``, even on a full disk; True when it was written.

        The atomic write needs room for a second copy; when it fails the file is
        overwritten in place (the blocks of the old one are reused).
        """
        try:
            self.write_status("failed", reason)
            return True
        except OSError:
            pass
        data = {
            "status": "failed",
            "reason": reason,
            "updated": _now(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        try:
            with open(self.path / STATUS, "r+b") as handle:
                text = json.dumps(to_jsonable(data)).encode()
                handle.write(text)
                handle.truncate(len(text))
            return True
        except OSError:
            return False

    def read_status(self) -> dict[str, Any]:
        """``status.json``, or ``{"status": "missing", ...}`` when the run never wrote one.

        A ``running`` status written on this host by a process that has ended reads as
        ``failed`` ("interrupted"); the run resumes from ``last.pt`` when run again.
        """
        if not (self.path / STATUS).is_file():
            return {"status": "missing", "reason": None, "updated": None}
        status = _read_json(self.path / STATUS, advice="run the same command again: the run is retried")
        pid = status.get("pid") if isinstance(status, dict) else None
        if (
            isinstance(status, dict)
            and status.get("status") == "running"
            and isinstance(pid, int)
            and status.get("host") == socket.gethostname()
            and not pid_alive(pid)
        ):
            status = {
                **status,
                "status": "failed",
                "reason": f"interrupted (process {pid} ended without recording a result); run the same "
                "command again to resume it",
            }
        return status

    def write_metrics(self, metrics: Mapping[str, Any]) -> Path:
        """Write ``metrics.json`` (``{"val": {...}, "test": {...}, "best_epoch": int}``)."""
        return atomic_write_json(self.path / METRICS, metrics)

    def read_metrics(self) -> dict[str, Any]:
        return _read_json(
            self.path / METRICS,
            advice="run the same `bench run` command again: it re-evaluates the run from its checkpoint",
        )

    def metrics_ok(self) -> bool:
        """Whether ``metrics.json`` exists and holds a JSON object."""
        try:
            return isinstance(self.read_metrics(), dict)
        except BenchError:
            return False

    # predictions
    def write_predictions(
        self,
        clip_ids: Sequence[str],
        *,
        split: str,
        y_true: np.ndarray,
        y_score: np.ndarray,
        labels: Sequence[str],
    ) -> Path:
        """Write (or replace) one split's clip predictions in ``predictions.parquet``.

        Parameters
        ----------
        clip_ids : sequence of str [shape=(N,)]
        split : str
            "val" or "test"; rows of another split already in the file are kept.
        y_true : np.ndarray [shape=(N, C)]
            Weak labels (0/1).
        y_score : np.ndarray [shape=(N, C)]
            Clip probabilities.
        labels : sequence of str [shape=(C,)]
        """
        y_true = np.asarray(y_true)
        y_score = np.asarray(y_score, dtype=np.float32)
        n, c = len(clip_ids), len(labels)
        if y_true.shape != (n, c) or y_score.shape != (n, c):
            raise BenchError(
                f"predictions of {n} clips x {c} labels expected, found y_true {y_true.shape}, y_score {y_score.shape}"
            )
        columns: dict[str, Any] = {"clip_id": [str(c_) for c_ in clip_ids], "split": [split] * n}
        columns.update({f"score_{lab}": y_score[:, i] for i, lab in enumerate(labels)})
        columns.update({f"label_{lab}": y_true[:, i].astype(np.int8) for i, lab in enumerate(labels)})
        frame = pd.DataFrame(columns)
        path = self.path / PREDICTIONS
        if path.is_file():
            old = pd.read_parquet(path)
            frame = pd.concat([old[old["split"] != split], frame], ignore_index=True)
        return atomic_write_parquet(path, frame)

    def read_predictions(self, split: str | None = None) -> pd.DataFrame:
        """``predictions.parquet``, optionally one split only (row order as written)."""
        path = self.path / PREDICTIONS
        if not path.is_file():
            raise BenchError(f"{path} is missing; the run has not been evaluated yet")
        frame = pd.read_parquet(path)
        if split is not None:
            frame = frame[frame["split"] == split].reset_index(drop=True)
        return frame

    def prediction_arrays(self, split: str, *, labels: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(clip_ids, y_true (N, C) int, y_score (N, C) float32) of one split."""
        frame = self.read_predictions(split)
        y_true = frame[[f"label_{lab}" for lab in labels]].to_numpy(dtype=np.int64)
        y_score = frame[[f"score_{lab}" for lab in labels]].to_numpy(dtype=np.float32)
        return frame["clip_id"].tolist(), y_true, y_score

    def write_frame_probs(self, split: str, frame_probs: np.ndarray) -> Path:
        """Write ``frame_probs_<split>.npy`` as float16, shape (N, T, C)."""
        array = np.asarray(frame_probs, dtype=np.float16)
        if array.ndim != 3:
            raise BenchError(f"frame probabilities must have shape (N, T, C), found {array.shape}")
        path = self.frame_probs_path(split)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, array)
        return path

    def read_frame_probs(self, split: str, *, mmap: bool = True) -> np.ndarray:
        """``frame_probs_<split>.npy`` (memory-mapped by default)."""
        path = self.frame_probs_path(split)
        if not path.is_file():
            raise BenchError(f"{path} is missing; the run has not been evaluated on the {split!r} split")
        return np.load(path, mmap_mode="r" if mmap else None)

    # curves
    def write_curves(self, curves: pd.DataFrame | Sequence[Mapping[str, Any]]) -> Path:
        """Write the whole ``curves.parquet`` (one row per epoch)."""
        frame = curves if isinstance(curves, pd.DataFrame) else pd.DataFrame(list(curves))
        return atomic_write_parquet(self.path / CURVES, frame.reset_index(drop=True))

    def append_curve(self, row: Mapping[str, Any]) -> Path:
        """Add (or replace, same ``epoch``) one epoch's row of ``curves.parquet``."""
        new = pd.DataFrame([to_jsonable(row)])
        path = self.path / CURVES
        if path.is_file():
            old = pd.read_parquet(path)
            if "epoch" in new and "epoch" in old:
                old = old[old["epoch"] != new["epoch"].iloc[0]]
            new = pd.concat([old, new], ignore_index=True)
        return self.write_curves(new)

    def read_curves(self) -> pd.DataFrame:
        path = self.path / CURVES
        if not path.is_file():
            raise BenchError(f"{path} is missing; the run has not finished an epoch yet")
        return pd.read_parquet(path)

    # checkpoints
    def save_checkpoint(self, state: Mapping[str, Any], *, best: bool) -> Path:
        """``torch.save`` to ``checkpoint.pt`` (best) or ``last.pt``, atomically."""
        import torch

        path = self.checkpoint_path if best else self.last_path
        with atomic_path(path) as tmp:
            torch.save(dict(state), tmp)
            if not best and path.is_file():  # keep the previous state (resume falls back to it)
                _keep_as(path, self.last_prev_path)
        return path

    def repair_resume_state(self) -> str | None:
        """Make ``last.pt`` loadable or absent; return a one-line note when it was damaged.

        A damaged ``last.pt`` (truncated by a full disk or a crash) is set aside as
        ``last.pt.damaged`` and replaced by ``last.prev.pt`` (the state one epoch
        earlier) when that one loads; otherwise it is removed and the run restarts.
        """

        def problem(path: Path) -> tuple[Any, str | None]:
            try:
                return safe_torch_load(path, map_location="cpu"), None
            except UnsafeFileError:
                return None, UNSAFE_PICKLE
            except Exception as exc:  # truncated zip, unpickling error, EOF
                return None, (str(exc).splitlines() or [type(exc).__name__])[0]

        if not self.last_path.is_file():
            return None
        _, damage = problem(self.last_path)
        if damage is None:
            return None
        os.replace(self.last_path, self.last_path.with_name(LAST + ".damaged"))
        if self.last_prev_path.is_file():
            state, prev_damage = problem(self.last_prev_path)
            if prev_damage is None and isinstance(state, dict):
                _keep_as(self.last_prev_path, self.last_path)
                return (
                    f"run {self.run_id}: last.pt is damaged ({damage}); resuming from the state before it "
                    f"(epoch {state.get('epoch', '?')})."
                )
        return (
            f"run {self.run_id}: last.pt is damaged ({damage}) and no earlier state is readable; restarting "
            "the run from scratch."
        )

    @property
    def last_prev_path(self) -> Path:
        """The training state saved before ``last.pt`` (``last.prev.pt``)."""
        return self.path / LAST_PREV

    def remove_partials(self) -> int:
        """Delete temporary files of killed writers in the run folder; return how many."""
        return _remove_partials(self.path, recursive=False)


def _keep_as(path: Path, target: Path) -> None:
    """Make ``target`` a copy of ``path`` (a hard link where possible), atomically; ``path`` stays."""
    with atomic_path(target) as tmp:
        try:
            os.link(path, tmp)
        except OSError:
            shutil.copyfile(path, tmp)


# --------------------------------------------------------------------------- one writer


REFERENCE_PREFIX = "reference:"
"""``bench detect --run reference:atrous_ap`` (or ``reference:atrous_ap@0`` for 0 dB): a model that ships
with the toolkit (:func:`reference_models_dir`) instead of a run of ``--results``."""


def reference_models_dir() -> Path:
    """The shipped ``cpu-full`` reference models: a runs folder holding ``<model>-<snr>dB`` runs
    (best checkpoint, config, post-processing, metrics), trained on the default stand-in."""
    return Path(__file__).resolve().parents[1] / "results" / "reference" / "cpu-full" / "models" / "runs"


def _reference_run(name: str) -> RunStore:
    model, _, snr = name.partition("@")
    try:
        snr_db = float(snr) if snr else 20.0
    except ValueError:
        raise BenchError(
            f"a reference model is reference:MODEL or reference:MODEL@SNR (e.g. @0); found {name!r}"
        ) from None
    folder = reference_models_dir()
    store = RunStore(folder, f"{model.strip()}-{snr_db:g}dB")
    if store.exists() and store.checkpoint_path.is_file():
        return store
    shipped = sorted(p.name for p in folder.glob("*dB") if (p / CHECKPOINT).is_file()) if folder.is_dir() else []
    names = ", ".join(f"reference:{n.rsplit('-', 1)[0]}@{n.rsplit('-', 1)[1][:-2]}" for n in shipped) or "none"
    raise BenchError(f"no reference model {name!r}; the toolkit ships: {names}")


SHIPPED_FILES = (CHECKPOINT, CONFIG, METRICS, STATUS, "postprocess.json")
"""What a shipped reference model keeps of its run (no resume state, no predictions)."""


def ship_run(store: RunStore, *, dest: Path, name: str, corpus_dir: str) -> RunStore:
    """Copy a finished run's :data:`SHIPPED_FILES` to ``dest/name`` as a reference model, its
    ``config.json`` naming ``corpus_dir`` (the corpus as a user builds it) instead of the folder it
    was trained from. Returns the copy."""
    if store.read_status().get("status") != "done" or not store.checkpoint_path.is_file():
        raise BenchError(f"run {store.run_id} is not finished; only finished runs ship")
    out = RunStore(Path(dest), name)
    out.path.mkdir(parents=True, exist_ok=True)
    for file in SHIPPED_FILES:
        if (store.path / file).is_file():
            with atomic_path(out.path / file) as tmp:
                shutil.copyfile(store.path / file, tmp)
    config = store.read_config()
    config.update(corpus_dir=corpus_dir, shipped_from_run=store.run_id)
    out.write_config(config)
    return out


def find_run(results_dir: Path, run_id: str) -> RunStore:
    """The run of ``results_dir`` whose id is ``run_id`` or starts with it (a unique prefix, as
    ``bench list`` shows ids), or a shipped reference model (``reference:MODEL[@SNR]``,
    :data:`REFERENCE_PREFIX`); BenchError naming the candidates otherwise."""
    run_id = str(run_id).strip()
    if run_id.startswith(REFERENCE_PREFIX):
        return _reference_run(run_id.removeprefix(REFERENCE_PREFIX))
    folder = runs_dir(Path(results_dir))
    exact = RunStore(folder, run_id)
    if run_id and "/" not in run_id and exact.exists():
        return exact
    found = sorted(p.name for p in folder.glob(f"{run_id}*") if p.is_dir() and RunStore(folder, p.name).exists())
    if run_id and "/" not in run_id and len(found) == 1:
        return RunStore(folder, found[0])
    if len(found) > 1:
        listed = ", ".join(found[:5])
        raise BenchError(f"run id {run_id!r} is the start of {len(found)} runs ({listed}); give more of it")
    raise BenchError(f"no run {run_id!r} under {folder}; `bench list` shows the run ids")


def results_locked(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a function taking ``results_dir=``: it holds the lock of that results
    folder while it runs, so a second grid on the same folder gets one line naming the holder."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from remix.lock import folder_lock

        folder = runs_dir(Path(kwargs["results_dir"]))
        try:
            lock = folder_lock(folder, what="results folder", error=ResultsBusy)
            lock.__enter__()
        except OSError as exc:  # a read-only or foreign folder: say so, in one line
            raise BenchError(
                f"cannot write in the results folder {folder} ({exc.strerror or exc}); use a results folder "
                "you can write (--results DIR), or a copy of this one"
            ) from None
        try:
            return fn(*args, **kwargs)
        finally:
            lock.__exit__(None, None, None)

    return wrapper


class ResultsBusy(BenchError):
    """Another process trains into the same results folder."""


# --------------------------------------------------------------------------- all runs


def flatten_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten ``metrics.json`` into scalar columns.

    ``{"val": {"micro_ap": .7, "per_class_ap": {"Bus": .2}, "frame": {"f1": .5}}, "best_epoch": 3}``
    becomes ``{"val_micro_ap": .7, "val_ap_Bus": .2, "val_frame_f1": .5, "best_epoch": 3}``;
    lists (e.g. ``absent_classes``) are kept as lists.
    """
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                if key == "per_class_ap" and isinstance(sub, Mapping):
                    for label, ap in sub.items():
                        out[f"{prefix}ap_{label}"] = ap
                else:
                    walk(f"{prefix}{key}_", sub)
        else:
            out[prefix[:-1]] = value

    walk("", metrics)
    return out


def _flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            out.update(_flatten_config(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


BASE_COLUMNS = ["run_id", "model", "alpha", "snr_db", "seed", "preset", "status", "reason"]


def load_runs(results_dir: Path) -> pd.DataFrame:
    """One row per run folder under ``results_dir`` (or ``results_dir/runs``).

    Columns: the config fields (nested ones as ``features.n_mels``), ``status``,
    ``reason``, ``updated``, ``run_dir``, and the flattened metrics
    (:func:`flatten_metrics`: ``val_micro_ap``, ``val_ap_<label>``, ``test_...``,
    ``best_epoch``). A folder with an unreadable config or metrics file is listed with
    status ``failed`` and the reason, never dropped silently. No runs: an empty table
    with the base columns.
    """
    folder = runs_dir(results_dir)
    rows: list[dict[str, Any]] = []
    if folder.is_dir():
        for run_path in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            store = RunStore(folder, run_path.name)
            if not store.exists():
                continue
            row: dict[str, Any] = {}
            try:
                row.update(_flatten_config(store.read_config()))
                status = store.read_status()
                row.update(status=status.get("status"), reason=status.get("reason"), updated=status.get("updated"))
                if (store.path / METRICS).is_file():
                    row.update(flatten_metrics(store.read_metrics()))
            except BenchError as exc:
                row.update(status="failed", reason=str(exc))
            row.setdefault("run_id", run_path.name)
            row["run_dir"] = str(run_path)
            rows.append(row)
    frame = pd.DataFrame(rows)
    for column in BASE_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=object)
    first = BASE_COLUMNS + [c for c in frame.columns if c not in BASE_COLUMNS]
    return frame[first]
