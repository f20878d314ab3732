"""The paper's log-mel features: settings, the transform, standardisation.

The features follow the original extraction code of the remix corpus exactly:

- 32 kHz mono audio, a *symmetric* Hamming window of 2048 samples (``np.hamming``)
  and a hop of 1024 samples;
- magnitude STFT scaled by ``1 / sqrt(sum(w**2))`` (what ``scipy.signal.spectrogram``
  with ``mode="magnitude"`` and ``fs=1`` returns);
- 64 mel bands from 50 Hz to ``sr / 2`` (``librosa.filters.mel``, Slaney), applied
  to the magnitude, then ``log(x + 1e-8)`` (natural log).

The original frames the signal *without* centre padding, which is what gives
``1 + (320000 - 2048) // 1024 = 311`` frames for a 10 s clip. Centre padding
(reflect, as librosa and torch do by default) is available as
``LogMelSettings(center=True)`` and gives ``1 + 320000 // 1024 = 313`` frames.

Features are computed in batches by :class:`LogMel` (a ``torch.nn.Module`` holding the window
and the mel matrix as buffers, so it runs on a GPU when asked); :mod:`bench.feature_cache`
computes them once per corpus and SNR and keeps them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from bench.errors import BenchError

FEATURE_VERSION = 1
"""Bumped when the computation changes in a way the settings do not capture."""

__all__ = ["FEATURE_VERSION", "LogMel", "LogMelSettings", "Standardizer", "log_mel", "mel_matrix"]


@dataclass(frozen=True)
class LogMelSettings:
    """Settings of the log-mel features (defaults: the paper's).

    Attributes
    ----------
    sample_rate : int
        Expected sample rate of the corpus audio, in Hz.
    n_fft : int
        Window (and FFT) length in samples; the window is a symmetric Hamming.
    hop_length : int
        Hop between frames in samples.
    n_mels : int
        Number of mel bands.
    fmin, fmax : float
        Band edges of the mel filter bank in Hz; ``fmax=None`` means ``sr / 2``.
    log_offset : float
        Added before the natural log.
    center : bool
        False (the original): frames start at ``t * hop``, ``T = 1 + (N - n_fft) // hop``.
        True: reflect padding of ``n_fft // 2`` on both sides, ``T = 1 + N // hop``.
    """

    sample_rate: int = 32000
    n_fft: int = 2048
    hop_length: int = 1024
    n_mels: int = 64
    fmin: float = 50.0
    fmax: float | None = None
    log_offset: float = 1e-8
    center: bool = False

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.n_fft <= 0 or self.hop_length <= 0 or self.n_mels <= 0:
            raise BenchError(
                f"log-mel settings must be positive, found sample_rate={self.sample_rate}, "
                f"n_fft={self.n_fft}, hop_length={self.hop_length}, n_mels={self.n_mels}"
            )
        top = self.sample_rate / 2 if self.fmax is None else self.fmax
        if not 0 <= self.fmin < top <= self.sample_rate / 2:
            raise BenchError(
                f"mel band edges must satisfy 0 <= fmin < fmax <= sr/2, found fmin={self.fmin}, "
                f"fmax={top}, sr={self.sample_rate}"
            )

    @property
    def hop_s(self) -> float:
        """Hop between frames in seconds (1024 / 32000 = 0.032 s: 31.25 frames/s)."""
        return self.hop_length / self.sample_rate

    @property
    def frame_start_s(self) -> float:
        """Start of frame 0's time cell, in seconds: frame ``t`` stands for
        ``[frame_start_s + t * hop_s, frame_start_s + (t + 1) * hop_s)``, the hop-long cell
        centred on its analysis window (window centre ``t * hop + n_fft / 2`` without centre
        padding: +16 ms at the paper's settings; ``t * hop`` with it)."""
        centre = 0.0 if self.center else self.n_fft / 2
        return (centre - self.hop_length / 2) / self.sample_rate

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return self.sample_rate / self.hop_length

    def n_frames(self, n_samples: int) -> int:
        """Number of frames for a signal of ``n_samples`` samples (311 for 10 s)."""
        if self.center:
            return 1 + n_samples // self.hop_length
        if n_samples < self.n_fft:
            return 0
        return 1 + (n_samples - self.n_fft) // self.hop_length

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogMelSettings:
        """Inverse of :meth:`to_dict`; unknown keys raise a :class:`BenchError`."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise BenchError(f"unknown log-mel settings {unknown}; known: {sorted(known)}")
        return cls(**data)

    def key(self) -> str:
        """Short hash of the settings (and :data:`FEATURE_VERSION`) used in cache paths."""
        text = json.dumps({"version": FEATURE_VERSION, **self.to_dict()}, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]


def mel_matrix(settings: LogMelSettings = LogMelSettings()) -> np.ndarray:
    """Mel filter bank of the settings.

    Returns
    -------
    np.ndarray [shape=(n_mels, n_fft // 2 + 1)], float64
        ``librosa.filters.mel`` (Slaney mel scale and area normalisation).
    """
    import librosa

    fmax = settings.sample_rate / 2 if settings.fmax is None else settings.fmax
    return librosa.filters.mel(
        sr=settings.sample_rate,
        n_fft=settings.n_fft,
        n_mels=settings.n_mels,
        fmin=settings.fmin,
        fmax=fmax,
        dtype=np.float64,
    )


def log_mel(
    wave: torch.Tensor,
    *,
    window: torch.Tensor,
    mel: torch.Tensor,
    hop_length: int,
    center: bool = False,
    log_offset: float = 1e-8,
) -> torch.Tensor:
    """Natural-log mel spectrogram of a batch of waveforms.

    Parameters
    ----------
    wave : torch.Tensor [shape=(B, N)]
        Mono waveforms.
    window : torch.Tensor [shape=(n_fft,)]
        Analysis window; the magnitude is divided by ``sqrt(sum(window**2))``.
    mel : torch.Tensor [shape=(F, n_fft // 2 + 1)]
        Mel filter bank.
    hop_length : int
        Hop in samples.
    center : bool
        Reflect-pad by ``n_fft // 2`` on both sides before framing.
    log_offset : float
        Added before the log.

    Returns
    -------
    torch.Tensor [shape=(B, T, F)]
    """
    n_fft = window.shape[0]
    if wave.ndim != 2:
        raise BenchError(f"log_mel expects waveforms of shape (B, N), found {tuple(wave.shape)}")
    if not center and wave.shape[1] < n_fft:
        raise BenchError(f"a clip of {wave.shape[1]} samples is shorter than one window ({n_fft})")
    spec = torch.stft(
        wave,
        n_fft=n_fft,
        hop_length=hop_length,
        window=window,
        center=center,
        pad_mode="reflect",
        onesided=True,
        return_complex=True,
    )  # (B, K, T)
    magnitude = spec.abs() / torch.sqrt(torch.sum(window * window))  # (B, K, T)
    mels = torch.matmul(mel, magnitude)  # (B, F, T)
    return torch.log(mels + log_offset).transpose(1, 2)  # (B, T, F)


class LogMel(torch.nn.Module):
    """The paper's log-mel as a module; window and mel matrix are buffers.

    ``forward(wave: (B, N)) -> (B, T, F)`` with ``T = settings.n_frames(N)`` (311 for
    10 s at 32 kHz with the default settings).
    """

    def __init__(self, settings: LogMelSettings = LogMelSettings()) -> None:
        super().__init__()
        self.settings = settings
        window = torch.from_numpy(np.hamming(settings.n_fft)).float()  # symmetric, as the original
        self.register_buffer("window", window, persistent=False)
        self.register_buffer("mel", torch.from_numpy(mel_matrix(settings)).float(), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, N) waveforms -> (B, T, F) log-mel."""
        s = self.settings
        return log_mel(
            wave.to(self.window.dtype),
            window=self.window,
            mel=self.mel,
            hop_length=s.hop_length,
            center=s.center,
            log_offset=s.log_offset,
        )


class Standardizer:
    """Per-mel-bin standardisation with statistics from training rows only.

    ``fit(features, rows)`` computes, for each mel bin, the mean and standard deviation
    over every frame of the given rows; ``__call__(x)`` returns ``(x - mean) / std``
    for numpy arrays or torch tensors of shape ``(..., F)``.
    """

    def __init__(self, mean: np.ndarray | None = None, std: np.ndarray | None = None, *, eps: float = 1e-8):
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = None if std is None else np.asarray(std, dtype=np.float32)
        self.eps = float(eps)

    def fit(self, features: np.ndarray, rows: Sequence[int] | np.ndarray, *, chunk: int = 256) -> Standardizer:
        """Fit on ``features[rows]``.

        Parameters
        ----------
        features : np.ndarray [shape=(N, T, F)]
        rows : sequence of int
            The training rows; no other row is read.
        chunk : int
            Rows read at once (keeps memory bounded on a memory map).
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            raise BenchError("cannot fit the standardiser: no training rows were given")
        n_bins = features.shape[-1]
        total = np.zeros(n_bins, dtype=np.float64)
        total_sq = np.zeros(n_bins, dtype=np.float64)
        count = 0
        order = np.sort(rows)  # sequential reads on a memory map
        for start in range(0, order.size, chunk):
            block = np.asarray(features[order[start : start + chunk]], dtype=np.float64).reshape(-1, n_bins)
            total += block.sum(axis=0)
            total_sq += np.square(block).sum(axis=0)
            count += block.shape[0]
        mean = total / count
        var = np.maximum(total_sq / count - mean * mean, 0.0)
        self.mean = mean.astype(np.float32)
        self.std = np.maximum(np.sqrt(var), self.eps).astype(np.float32)
        return self

    def __call__(self, x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Standardise ``x`` of shape ``(..., F)``."""
        if self.mean is None or self.std is None:
            raise BenchError("the standardiser is not fitted: call fit(features, train_rows) first")
        if isinstance(x, torch.Tensor):
            mean = torch.as_tensor(self.mean, device=x.device, dtype=x.dtype)
            std = torch.as_tensor(self.std, device=x.device, dtype=x.dtype)
            return (x - mean) / std
        return ((np.asarray(x, dtype=np.float32) - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        if self.mean is None or self.std is None:
            raise BenchError("the standardiser is not fitted")
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "eps": self.eps}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(data["mean"]), np.asarray(data["std"]), eps=data.get("eps", 1e-8))
