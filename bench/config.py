"""One training run's configuration and its id (:class:`RunConfig`).

A :class:`RunConfig` names one training run; its id is a short hash of its fields and of
its preset's settings (:meth:`bench.presets.Preset.key`), so the same config under the
same preset always maps to the same folder ``results/runs/<id>``, and editing a preset
starts new runs. The preset a config carries is resolved when the config is made (a
:class:`bench.presets.Preset` given directly, else the registered one of that name), so a
preset of one's own, registered nowhere, gets its own id and travels with the config to
whatever process trains it. :mod:`bench.training.grid` lists and runs them, :mod:`bench.training.loop` trains one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

from bench.errors import BenchError
from bench.features import LogMelSettings
from bench.presets import PRESETS, Preset

SCALED_GWRP = "0.9998 ** (19904 / (T * F))"
"""The rule a GWRP run's decay follows on a preset with other features than the paper's."""


@dataclass(frozen=True)
class RunConfig:
    """One training run.

    Attributes
    ----------
    model : str
        Registered model name (``models.available()``).
    alpha : float
        Weight of the reconstruction loss (0 for models without a decoder).
    snr_db : float
        Corpus SNR of the clips.
    seed : int
        Seed of initialisation, training-clip subset and batch order.
    preset : str or Preset
        Training schedule (:mod:`bench.presets`): a registered preset's name, or a
        :class:`bench.presets.Preset` (its name is kept here, the preset itself in
        :attr:`preset_spec`).
    val_fold : int
        Dev fold that validates (the other dev folds train).
    corpus : str
        Fingerprint of the corpus the run trains on (:func:`bench.training.loop.corpus_fingerprint`;
        ``bench run`` fills it in). It enters the run id, so runs on two corpora (the
        stand-in and the real one, say) never share a folder and a finished run is only
        skipped for the corpus it was trained on. Empty: not pinned to a corpus.
    options : tuple of (str, value) pairs
        Model options handed to ``models.build`` (e.g. ``(("attention", "sigmoid_in_softmax"),)``
        for an ablation), sorted by name; a dict is accepted. Empty (default): the
        registered model as it is. Non-empty options enter the run id.
    mixing : {"fixed", "online"}
        Training clips: the corpus as built (the paper's), or fresh mixtures every epoch
        (:mod:`bench.training.mixing`). Enters the run id when not ``"fixed"``.
    augment : {"none", "shift"}
        Augmentation of the training inputs (:mod:`bench.training.mixing`). Enters the run id when
        not ``"none"``.
    preset_spec : Preset or None
        The preset itself: the one given as ``preset``, else the registered preset of that name
        at the time the config is made (None for a name registered nowhere, e.g. a run folder's
        config.json read back after its preset was removed). Its :meth:`bench.presets.Preset.key`
        enters the run id; it is not part of :meth:`to_dict`.
    """

    model: str
    alpha: float
    snr_db: float
    seed: int = 0
    preset: str = "cpu"
    val_fold: int = 4
    corpus: str = ""
    options: tuple[tuple[str, Any], ...] = ()
    mixing: str = "fixed"
    augment: str = "none"
    preset_spec: Preset | None = field(default=None, repr=False)

    def __post_init__(self) -> None:  # 0 and 0.0 must give the same id
        given: Any = self.preset
        if isinstance(given, Preset):  # a preset of one's own (also dataclasses.replace(cfg, preset=P))
            object.__setattr__(self, "preset", given.name)
            object.__setattr__(self, "preset_spec", given)
        elif self.preset_spec is None or self.preset_spec.name != given:  # a name: the registered preset
            object.__setattr__(self, "preset_spec", PRESETS.get(str(given)))
        object.__setattr__(self, "alpha", float(self.alpha))
        object.__setattr__(self, "snr_db", float(self.snr_db))
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "val_fold", int(self.val_fold))
        items = self.options.items() if isinstance(self.options, dict) else self.options
        object.__setattr__(self, "options", tuple(sorted((str(k), v) for k, v in items)))

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values, without :attr:`preset_spec` (its key is :attr:`preset_key`)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "preset_spec"}
        d["alpha"] = float(self.alpha)
        d["snr_db"] = float(self.snr_db)
        d["options"] = dict(self.options)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """The config of :meth:`to_dict`'s output (other keys are ignored); its preset is the
        registered one of that name."""
        names = {f.name for f in fields(cls)} - {"preset_spec"}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def variant(self) -> str:
        """The model options as ``key=value`` words (empty for the registered model)."""
        return " ".join(f"{k}={v}" for k, v in self.options)

    @property
    def preset_key(self) -> str | None:
        """:meth:`bench.presets.Preset.key` of :attr:`preset_spec` (None without one)."""
        return None if self.preset_spec is None else self.preset_spec.key()

    @property
    def scaled_gwrp(self) -> bool:
        """A GWRP run whose decay follows its preset's map size
        (:func:`bench.resolution.gwrp_decay`): no ``gwrp_decay`` option and features other
        than the paper's. Such runs get new ids: runs trained with the fixed 0.9998 on a
        smaller map ran another operator."""
        return (
            self.model == "gwrp"
            and "gwrp_decay" not in dict(self.options)
            and self.preset_spec is not None
            and self.preset_spec.features != LogMelSettings()
        )

    @property
    def run_id(self) -> str:
        """Short hash (10 hex digits) of :meth:`to_dict`, of :attr:`preset_key` and, for a GWRP
        run whose decay is scaled to the map (:attr:`scaled_gwrp`), of that rule."""
        data = self.to_dict()
        if not data["corpus"]:  # ids of configs not pinned to a corpus stay as they were
            del data["corpus"]
        if not data["options"]:  # ids of the registered models stay as they were
            del data["options"]
        for key, default in (("mixing", "fixed"), ("augment", "none")):  # ids of earlier runs stay as they were
            if data[key] == default:
                del data[key]
        key = self.preset_key
        if key is not None:
            data["preset_key"] = key
            if self.scaled_gwrp:
                data["gwrp_decay"] = SCALED_GWRP
        text = json.dumps(data, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]

    @property
    def label(self) -> str:
        """Human-readable one-liner."""
        variant = f" {self.variant}" if self.options else ""
        if self.mixing != "fixed":
            variant += f" mixing={self.mixing}"
        if self.augment != "none":
            variant += f" augment={self.augment}"
        return (
            f"{self.model}{variant} alpha={self.alpha:g} snr={self.snr_db:g} dB seed={self.seed} "
            f"fold={self.val_fold} [{self.preset}]"
        )


def parse_options(items: list[str] | None) -> dict[str, object]:
    """``["attention=code", "time_kernel=3"]`` -> ``{"attention": "code", "time_kernel": 3}``
    (integers and floats are converted; BenchError for an item without ``=``)."""
    out: dict[str, object] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"--option takes KEY=VALUE (e.g. attention=sigmoid_in_softmax); found {item!r}")
        value: object = text.strip()
        for convert in (int, float):
            try:
                value = convert(text)
                break
            except ValueError:
                continue
        out[key.strip()] = value
    return out
