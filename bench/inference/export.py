"""A trained run as one TorchScript file that runs with torch alone.

:func:`export_run` wraps a run's best checkpoint together with its input transform
(the run's log-mel settings and the training folds' standardisation) into one
module and saves it with ``torch.jit``::

    import torch
    model = torch.jit.load("model.pt")         # no sedremix needed
    out = model(wave)                          # wave: (samples,), (batch, samples) or (batch, channels, samples)
                                               #   at model.sample_rate Hz, float or int16 / int32 PCM
    out["clip_probs"]   # (B, C)     class names: model.class_names
    out["frame_probs"]  # (B, T, C)  T frames of model.hop_s seconds
    out["frame_times"]  # (T,)       start of each frame in seconds
    model.metadata["model"], model.metadata["postprocessing"]  # strings; JSON text for non-strings

The model itself takes windows of ``window_samples`` samples (the clip length the run was
trained on, e.g. 10 s): the 2AP models' time step is a dense layer over a fixed number of
frames. The module cuts a waveform of any length into windows overlapping by half (the last
ending on the last frame), scores them and stitches the frame outputs (the mean over the
windows holding a frame; the clip probability is the highest of the windows), as ``bench
detect`` does; a waveform shorter than a window is repeated to fill one and only its own
frames are kept. Empty input, non-finite samples and integer types other than int16 and
int32 are refused with a ValueError. The file holds no debug records, so no path of the
machine that exported it.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any, Dict, Optional  # noqa: UP035 (TorchScript reads typing.Dict and Optional annotations)

import numpy as np
import torch
from torch import nn

from bench.errors import BenchError
from bench.features import LogMel, LogMelSettings, Standardizer
from bench.store import RunStore, atomic_path, find_run, to_jsonable

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
    """The scripted wrapper: any waveform in, windows scored and stitched as ``bench detect``
    does, a dict out; the metadata as attributes."""

    def __init__(
        self,
        scores: nn.Module,
        *,
        class_names: list[str],
        sample_rate: int,
        window: int,
        n_frames: int,
        n_fft: int,
        hop_length: int,
        hop_s: float,
        frame_start_s: float,
        metadata: dict[str, str],
    ) -> None:
        super().__init__()
        self.scores = scores
        self.class_names = list(class_names)
        self.sample_rate = int(sample_rate)
        self.window_samples = int(window)
        self.n_frames = int(n_frames)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.hop_s = float(hop_s)
        self.frame_start_s = float(frame_start_s)
        self.metadata: Dict[str, str] = dict(metadata)  # noqa: UP006 (TorchScript reads typing.Dict)
        self.windows_per_batch = 16

    def _mono(self, wave: torch.Tensor) -> torch.Tensor:
        """(N,), (B, N) or (B, C, N) float or int16/int32 PCM -> (B, N) float32 mono."""
        if wave.dtype == torch.int16:
            wave = wave.to(torch.float32) / 32768.0
        elif wave.dtype == torch.int32:
            wave = wave.to(torch.float32) / 2147483648.0
        elif torch.is_complex(wave):
            raise ValueError("complex samples are not audio; give real float samples in [-1, 1] or int16 / int32 PCM")
        elif not wave.is_floating_point():
            raise ValueError(
                "integer or boolean samples other than int16 / int32 (e.g. uint8, int8, int64) are not PCM this "
                "model reads; give float samples in [-1, 1] or int16 / int32 PCM"
            )
        wave = wave.to(torch.float32)
        if wave.dim() == 1:
            wave = wave.unsqueeze(0)
        elif wave.dim() == 3:
            if wave.size(1) == 0:
                raise ValueError("the waveform has no channels (shape " + str(wave.shape) + ")")
            wave = wave.mean(dim=1)
        elif wave.dim() != 2:
            raise ValueError(
                "expected a waveform of shape (samples,), (batch, samples) or (batch, channels, samples), got shape "
                + str(wave.shape)
            )
        if wave.size(0) == 0 or wave.size(1) == 0:
            raise ValueError("empty input of shape " + str(wave.shape) + ": give at least one sample")
        if not bool(torch.isfinite(wave).all()):
            raise ValueError("the waveform holds NaN or infinite samples")
        return wave

    def forward(self, wave: torch.Tensor, sample_rate: Optional[int] = None) -> Dict[str, torch.Tensor]:  # noqa: UP006, UP045
        """Score a waveform of any length at ``sample_rate``.

        Parameters
        ----------
        wave : torch.Tensor [shape=(N,), (B, N) or (B, C, N)]
            Float samples (full scale 1.0) or int16 / int32 PCM; channels are averaged.
        sample_rate : int, optional
            The waveform's sample rate: a rate other than the model's (``model.sample_rate``) is
            refused with the advice to resample (None: taken to be the model's).

        Returns
        -------
        dict
            ``clip_probs`` (B, C): the highest clip probability of the windows;
            ``frame_probs`` (B, T, C): each frame's output, the mean over the windows holding it;
            ``frame_times`` (T,): the start of each frame in seconds. Windows of ``window_samples``
            overlap by half and the last one ends on the last frame; a waveform shorter than one
            window is repeated to fill it and only its own frames are kept. No gradients.
        """
        if sample_rate is not None and sample_rate != self.sample_rate:
            raise ValueError(
                "this model reads audio at "
                + str(self.sample_rate)
                + " Hz; the waveform is at "
                + str(sample_rate)
                + " Hz: resample it first (e.g. torchaudio.functional.resample or librosa.resample)"
            )
        with torch.no_grad():
            x = self._mono(wave)
            batch, n = x.size(0), x.size(1)
            if n < self.n_fft:
                hint = ""
                if wave.dim() == 2 and wave.size(0) > wave.size(1):
                    hint = " (a (samples, channels) array, as soundfile reads it? pass its transpose, wave.T)"
                raise ValueError(
                    "the waveform has "
                    + str(n)
                    + " samples, shorter than one analysis window of "
                    + str(self.n_fft)
                    + " samples at "
                    + str(self.sample_rate)
                    + " Hz"
                    + hint
                )
            total = 1 + (n - self.n_fft) // self.hop_length
            if n < self.window_samples:
                x = x.repeat(1, self.window_samples // n + 1)[:, : self.window_samples]
                starts = [0]
            else:
                stride = max(1, self.n_frames // 2)
                starts = list(range(0, total - self.n_frames + 1, stride))
                if starts[-1] != total - self.n_frames:
                    starts.append(total - self.n_frames)
            length = max(total, self.n_frames)
            n_classes = len(self.class_names)
            sums = torch.zeros(batch, length, n_classes)
            count = torch.zeros(length)
            clip = torch.zeros(batch, n_classes)
            for first in range(0, len(starts), self.windows_per_batch):
                chunk = starts[first : first + self.windows_per_batch]
                windows = torch.stack(
                    [x[:, s * self.hop_length : s * self.hop_length + self.window_samples] for s in chunk], dim=1
                )  # (B, W, window)
                clip_w, frames_w = self.scores(windows.reshape(-1, self.window_samples))
                clip_w = clip_w.reshape(batch, len(chunk), n_classes)
                frames_w = frames_w.reshape(batch, len(chunk), self.n_frames, n_classes)
                clip = torch.maximum(clip, clip_w.max(dim=1).values)
                for k, s in enumerate(chunk):
                    sums[:, s : s + self.n_frames] += frames_w[:, k]
                    count[s : s + self.n_frames] += 1.0
            frames = (sums / count[None, :, None])[:, :total]
            times = self.frame_start_s + torch.arange(total, dtype=torch.float64) * self.hop_s
            return {"clip_probs": clip, "frame_probs": frames, "frame_times": times}


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
        The run's ``postprocess.json`` (:func:`bench.evaluation.postprocess.load_postprocessing`), when it has one.
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
    store = find_run(results_dir, run_id)
    if not store.checkpoint_path.is_file():
        raise BenchError(f"run {store.run_id} has no checkpoint.pt yet; train it first (bench run ...)")
    return store


def load_run_scorer(results_dir: Path, *, run_id: str, device: str = "cpu") -> RunScorer:
    """The best checkpoint of a run, ready to score waveform windows.

    Raises
    ------
    BenchError
        No such run, or no checkpoint yet.
    """
    from bench.evaluation.postprocess import load_postprocessing
    from bench.inference.checkpoint import load_checkpoint
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
            "input": "waveform at sample_rate of any length: (samples,), (batch, samples) or (batch, channels, "
            "samples); float in [-1, 1] or int16 / int32 PCM; windowed, scored and stitched inside",
            "outputs": ["clip_probs (B, C)", "frame_probs (B, T, C)", "frame_times (T,) seconds"],
            "postprocessing": None if scorer.postprocessing is None else scorer.postprocessing.to_dict(),
            "torch": torch.__version__,
        }
    )


def metadata_strings(meta: dict[str, Any]) -> dict[str, str]:
    """The metadata as the module carries it (``Dict[str, str]``, what TorchScript can hold):
    strings as they are, every other value as JSON text."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in meta.items()}


def read_metadata(strings: dict[str, str]) -> dict[str, Any]:
    """Inverse of :func:`metadata_strings`."""
    out: dict[str, Any] = {}
    for key, text in strings.items():
        try:
            out[key] = json.loads(text)
        except ValueError:
            out[key] = text
        if not isinstance(out[key], (dict, list, int, float, bool, type(None))):
            out[key] = text
    return out


def _without_debug_info(archive: bytes) -> bytes:
    """A TorchScript archive without its debug records (``*.debug_pkl``): they hold the source
    file paths of the machine that exported it, and loading does not need them."""
    import zipfile

    source, target = io.BytesIO(archive), io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            if item.filename.endswith(".debug_pkl"):
                continue
            zout.writestr(item, zin.read(item.filename))
    return target.getvalue()


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

    out = check_output_file(out, what="--out", overwrite=overwrite, example="model.pt")
    store = _open_run(results_dir, run_id)  # a unique prefix names the run; reference:NAME a shipped model
    run_id = store.run_id
    scorer = load_run_scorer(store.root, run_id=run_id, device="cpu")
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
                n_fft=scorer.settings.n_fft,
                hop_length=scorer.settings.hop_length,
                hop_s=scorer.settings.hop_s,
                frame_start_s=scorer.settings.frame_start_s,
                metadata=metadata_strings(meta),
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
    data = _without_debug_info(buffer.getvalue())
    try:
        with atomic_path(out) as tmp:
            tmp.write_bytes(data)
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
        meta = read_metadata(dict(module.metadata))
    except Exception as exc:
        raise BenchError(f"{path} is not a model written by `bench export` ({type(exc).__name__})") from None
    return module.eval(), meta
