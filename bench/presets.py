"""Training presets: the paper's schedule for a GPU and a small one for a CPU.

A preset fixes everything about a run that is not the model, the loss weight,
the SNR, the seed or the folds. Its name goes into the run id; its settings are
stored with every run (``config.json``), so a table can always say what it ran.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bench.errors import BenchError


@dataclass(frozen=True)
class Preset:
    """A training schedule.

    Attributes
    ----------
    name : str
        Name used on the command line and in the run id.
    epochs : int
        Passes over the training clips.
    width : float
        Channel-width multiplier handed to ``models.build`` (1.0 = the paper's).
    train_clips : int or None
        Number of training clips drawn (deterministically from the seed) out of
        the training folds; None uses them all.
    batch_size : int
        Training batch size (the paper's: 24).
    lr : float
        Adam learning rate (the paper's: 1e-3).
    patience : int
        ReduceLROnPlateau patience in epochs, on validation micro-AP (mode max).
    lr_factor : float
        Factor applied to the learning rate on a plateau.
    eval_batch_size : int
        Batch size for prediction.
    note : str
        One line on what the preset is for.
    """

    name: str
    epochs: int
    width: float
    train_clips: int | None = None
    batch_size: int = 24
    lr: float = 1e-3
    patience: int = 3
    lr_factor: float = 0.1
    eval_batch_size: int = 64
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    "paper": Preset(
        name="paper", epochs=50, width=1.0, train_clips=None,
        note="the original schedule (50 epochs, full width, every training clip); meant for a GPU",
    ),
    "cpu": Preset(
        name="cpu", epochs=2, width=0.0625, train_clips=150, eval_batch_size=100,
        note="a time-boxed schedule for a 2-core CPU (1/16 width, 2 epochs, 150 training clips): "
             "it exercises the whole pipeline; its scores stay near chance level",
    ),
    "smoke": Preset(
        name="smoke", epochs=1, width=0.0625, train_clips=48, eval_batch_size=64,
        note="a wiring check (1 epoch, 1/16 width, 48 clips); its numbers mean nothing",
    ),
}
"""The known presets by name."""


def get_preset(name: str) -> Preset:
    """Return the preset called ``name``; BenchError listing the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise BenchError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}") from None
