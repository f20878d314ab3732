"""A trained run as one TorchScript file that runs with torch alone.

:func:`export_run` wraps a run's best checkpoint together with its input transform
(the run's log-mel settings and the training folds' standardisation) into one
module and saves it with ``torch.jit``::

    import json, torch
    model = torch.jit.load("model.pt")                 # no sedremix needed
    meta = json.loads(model.metadata)                  # feature settings, classes, run config ...
    clip_probs, frame_probs = model(wave)              # wave: (B, model.window_samples) float32
                                                       #   mono, at model.sample_rate Hz
    # clip_probs (B, C), frame_probs (B, model.n_frames, C); class names: model.class_names

The module takes windows of exactly ``window_samples`` samples (the clip length the
run was trained on, e.g. 10 s): the 2AP models' time step is a dense layer over a
fixed number of frames. Frame ``t`` of a window stands for the time cell
``[frame_start_s + t * hop_s, frame_start_s + (t + 1) * hop_s)`` from the window's
start. ``bench detect`` cuts longer recordings into overlapping windows and stitches
the frame scores; ``metadata`` also carries the post-processing the run was evaluated
with (median filter, thresholds), when it has one.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any, Tuple  # noqa: UP035 (TorchScript reads typing.Tuple annotations)

import numpy as np
import torch
from torch import nn

from bench.errors import BenchError
from bench.features import LogMel, LogMelSettings, Standardizer
from bench.store import RunStore, atomic_path, runs_dir, to_jsonable

__all__ = ["EXPORT_FORMAT", "RunScorer", "export_run", "load_exported", "load_run_scorer", "window_samples"]

EXPORT_FORMAT = "sedremix-torchscript-1"
"""Written into the metadata; bumped when the module's interface changes."""


def window_samples(settings: LogMelSettings, n_frames: int) -> int:
    """Samples of a window that gives exactly ``n_frames`` frames under ``settings``.

    Without centre padding: ``n_fft + (n_frames - 1) * hop`` (2048 + 310 * 1024 = 319,488
    samples for the paper's 311 frames: the frames of a 10 s clip without its last 512
    samples, which no frame reads). With centre padding: ``(n_frames - 1) * hop``.
    """
    if settings.center:
        return (n_frames - 1) * settings.hop_length
    return settings.n_fft + (n_frames - 1) * settings.hop_length


class _Scores(nn.Module):
    """Log-mel, standardisation and the model: ``(B, N)`` waveforms -> clip and frame probabilities."""

    def __init__(self, net: nn.Module, settings: LogMelSettings, standardizer: Standardizer) -> None:
        super().__init__()
        self.logmel = LogMel(settings)
        self.register_buffer("mean", torch.as_tensor(standardizer.mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(standardizer.std, dtype=torch.float32))
        self.net = net

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """wave (B, N) -> clip_probs (B, C), frame_probs (B, T, C)."""
        x = (self.logmel(wave) - self.mean) / self.std  # (B, T, F)
        out = self.net(x)
        return out["clip_probs"], out["frame_probs"]


class _Exported(nn.Module):
    """The scripted wrapper: checks the input and carries the metadata as attributes."""

    def __init__(
        self,
        scores: nn.Module,
        *,
        class_names: list[str],
        sample_rate: int,
        window: int,
        n_frames: int,
        hop_s: float,
        frame_start_s: float,
        metadata: str,
    ) -> None:
        super().__init__()
        self.scores = scores
        self.class_names = list(class_names)
        self.sample_rate = int(sample_rate)
        self.window_samples = int(window)
        self.n_frames = int(n_frames)
        self.hop_s = float(hop_s)
        self.frame_start_s = float(frame_start_s)
        self.metadata = metadata

    def forward(self, wave: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:  # noqa: UP006
        """wave (B, window_samples) mono at sample_rate -> clip_probs (B, C), frame_probs (B, n_frames, C).

        Float samples are taken as they are (full scale 1.0); int16 and int32 PCM are scaled to
        full scale 1.0; other integer types, an empty batch and non-finite samples are refused.
        """
        if wave.dim() == 2 and wave.size(0) == 0:
            raise ValueError("empty batch: give at least one window of shape (1, " + str(self.window_samples) + ")")
        if wave.dtype == torch.int16:
            wave = wave.float() / 32768.0
        elif wave.dtype == torch.int32:
            wave = wave.float() / 2147483648.0
        elif not wave.is_floating_point():
            raise ValueError(
                "integer samples of type " + str(wave.dtype) + " are not PCM this model reads; give float "
                "samples in [-1, 1] or int16 / int32 PCM"
            )
        if not bool(torch.isfinite(wave).all()):
            raise ValueError("the waveform holds NaN or infinite samples")
        if wave.dim() != 2 or wave.size(1) != self.window_samples:
            raise ValueError(
                "expected mono windows of shape (batch, "
                + str(self.window_samples)
                + ") at "
                + str(self.sample_rate)
                + " Hz, got shape "
                + str(wave.shape)
            )
        return self.scores(wave.float())


class RunScorer:
    """A run's best checkpoint with its input transform, in this process.

    Calling it on waveform windows gives the same numbers as the exported module.

    Attributes
    ----------
    settings : LogMelSettings
    n_frames : int
        Frames per window the model takes.
    window_samples : int
    class_names : list of str
    config : dict
        The run's ``config.json``.
    postprocessing : PostProcessing or None
        The run's ``postprocess.json`` (:func:`bench.postprocess.load_postprocessing`), when it has one.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        settings: LogMelSettings,
        standardizer: Standardizer,
        n_frames: int,
        class_names: list[str],
        config: dict[str, Any],
        postprocessing: Any | None,
        device: str = "cpu",
    ) -> None:
        self.settings = settings
        self.n_frames = int(n_frames)
        self.window_samples = window_samples(settings, self.n_frames)
        self.class_names = list(class_names)
        self.config = config
        self.postprocessing = postprocessing
        self.device = torch.device(device)
        self.module = _Scores(net, settings, standardizer).to(self.device).eval()

    @property
    def sample_rate(self) -> int:
        return self.settings.sample_rate

    def __call__(self, waves: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Score windows.

        Parameters
        ----------
        waves : array [shape=(W, window_samples)]
            Mono windows at :attr:`sample_rate`.

        Returns
        -------
        clip_probs : np.ndarray [shape=(W, C)], float32
        frame_probs : np.ndarray [shape=(W, n_frames, C)], float32
        """
        x = torch.as_tensor(np.asarray(waves, dtype=np.float32)).to(self.device)
        if x.dim() != 2 or x.shape[1] != self.window_samples:
            raise BenchError(f"the run takes windows of {self.window_samples} samples, got shape {tuple(x.shape)}")
        with torch.inference_mode():
            clip, frame = self.module(x)
        return clip.float().cpu().numpy(), frame.float().cpu().numpy()


def _open_run(results_dir: Path, run_id: str) -> RunStore:
    store = RunStore(runs_dir(results_dir), run_id)
    if not store.exists():
        raise BenchError(f"no run {run_id!r} under {runs_dir(results_dir)}; `bench list` shows the run ids")
    if not store.checkpoint_path.is_file():
        raise BenchError(f"run {run_id} has no checkpoint.pt yet; train it first (bench run ...)")
    return store


def load_run_scorer(results_dir: Path, *, run_id: str, device: str = "cpu") -> RunScorer:
    """The best checkpoint of a run, ready to score waveform windows.

    Raises
    ------
    BenchError
        No such run, or no checkpoint yet.
    """
    from bench.postprocess import load_postprocessing
    from bench.train import load_checkpoint
    from remix.labels import EVENT_LABELS

    store = _open_run(results_dir, run_id)
    record = store.read_config()
    net, state = load_checkpoint(store.checkpoint_path, device="cpu")
    if "features" in record:
        settings = LogMelSettings.from_dict(record["features"])
    else:
        settings = LogMelSettings.from_dict(state["preset"]["features"])
    standardizer = Standardizer.from_dict(state["standardizer"])
    return RunScorer(
        net,
        settings=settings,
        standardizer=standardizer,
        n_frames=int(state["n_frames"]),
        class_names=list(EVENT_LABELS),
        config=record,
        postprocessing=load_postprocessing(store.path),
        device=device,
    )


def _metadata(scorer: RunScorer, run_id: str) -> dict[str, Any]:
    config = scorer.config
    return to_jsonable(
        {
            "format": EXPORT_FORMAT,
            "run_id": run_id,
            "model": config.get("model"),
            "alpha": config.get("alpha"),
            "snr_db": config.get("snr_db"),
            "seed": config.get("seed"),
            "preset": config.get("preset"),
            "corpus_fingerprint": config.get("corpus_fingerprint"),
            "corpus_synthetic": config.get("corpus_synthetic"),
            "class_names": scorer.class_names,
            "features": scorer.settings.to_dict(),
            "sample_rate": scorer.sample_rate,
            "window_samples": scorer.window_samples,
            "n_frames": scorer.n_frames,
            "hop_s": scorer.settings.hop_s,
            "frame_start_s": scorer.settings.frame_start_s,
            "input": "mono float32 waveform windows (B, window_samples) at sample_rate; standardisation inside",
            "outputs": ["clip_probs (B, C)", "frame_probs (B, n_frames, C)"],
            "postprocessing": None if scorer.postprocessing is None else scorer.postprocessing.to_dict(),
            "torch": torch.__version__,
        }
    )


def export_run(results_dir: Path, *, run_id: str, out: Path, overwrite: bool = False) -> Path:
    """Save a run as one TorchScript file (see the module docstring for its use).

    Parameters
    ----------
    results_dir : Path
        Results folder holding ``runs/<run_id>``.
    run_id : str
    out : Path
        Destination file (``.pt``); checked before any work (an existing file needs
        ``overwrite``; a folder, or a folder that cannot be written, is refused), written
        whole or not at all (the module is serialised in memory, then written atomically).
    overwrite : bool
        Replace an existing ``out``.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    BenchError
        No such run or checkpoint, or the model could not be traced.
    """
    from bench.outputs import check_output_file

    out = check_output_file(out, what="--out", overwrite=overwrite)
    scorer = load_run_scorer(results_dir, run_id=run_id, device="cpu")
    meta = _metadata(scorer, run_id)
    example = torch.zeros(1, scorer.window_samples)
    with warnings.catch_warnings():  # the models' shape checks are constant for a fixed window: fine to trace
        warnings.simplefilter("ignore")
        try:
            traced = torch.jit.trace(scorer.module, example, check_trace=False)
            wrapper = _Exported(
                traced,
                class_names=scorer.class_names,
                sample_rate=scorer.sample_rate,
                window=scorer.window_samples,
                n_frames=scorer.n_frames,
                hop_s=scorer.settings.hop_s,
                frame_start_s=scorer.settings.frame_start_s,
                metadata=json.dumps(meta),
            )
            scripted = torch.jit.script(wrapper)
        except Exception as exc:  # tracing errors are long; one line is enough for the user
            raise BenchError(
                f"could not export run {run_id} to TorchScript: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from None
    buffer = io.BytesIO()  # serialised in memory: a full disk fails in Python below, never inside torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(scripted, buffer)
    try:
        with atomic_path(out) as tmp:
            tmp.write_bytes(buffer.getvalue())
    except OSError as exc:
        raise BenchError(f"cannot write {out} ({exc.strerror or exc}); nothing was written") from None
    return out


def load_exported(path: Path) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """Load an exported file: the module (eval mode, CPU) and its metadata dict.

    Raises
    ------
    BenchError
        When the file is missing or is not an exported model.
    """
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"no exported model at {path}; write one with `bench export --run RUN_ID --out FILE`")
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated in favour of torch.export; it still loads
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
        meta = json.loads(module.metadata)
    except Exception as exc:
        raise BenchError(f"{path} is not a model written by `bench export` ({type(exc).__name__})") from None
    return module.eval(), meta
