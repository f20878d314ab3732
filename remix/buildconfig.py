"""Build options in a TOML file: what ``remix build --config FILE`` reads and what a build leaves behind.

The keys are the options of ``remix build``, spelled as in Python (``clips_per_fold``;
``clips-per-fold`` is read too)::

    snr = [0, 10, 20]
    clips_per_fold = 100
    recipe = "paper"
    scenes = "/data/TAU-urban-acoustic-scenes-2019-development"

Relative paths (``out``, ``scenes``, ``events``) are taken from the file's folder.
Options given on the command line override the file. :func:`read_config` checks
every key and type and raises one :class:`~remix.errors.RemixError` naming the
file, the key, what was expected and what was found.

Every build writes its corpus options back (:func:`corpus_toml`) as
``build.toml`` in the corpus folder and in the corpus card, so that
``remix build --config CORPUS/build.toml --out NEW`` repeats it. Where the corpus
goes and how the build runs (``out``, ``workers``, ``cluster``, ``overwrite``,
``strict``, ``progress``) are not written: they do not change the corpus.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from remix.errors import RemixError
from remix.licences import parse_licences
from remix.options import BOOLEAN, BUILD_OPTIONS, DEFAULT_STANDIN, INTEGER, NUMBER, NUMBERS, PATH, RANGE, REVERB, Kind
from remix.recipe import RecipeOptions
from remix.render import RenderSettings
from remix.reverb import NONE, SIMULATED, ReverbOptions

CONFIG_NAME = "build.toml"
"""Name of the options file a build writes into its corpus folder."""


_NUMBERS, _NUMBER, _INTEGER, _BOOLEAN, _PATH = NUMBERS, NUMBER, INTEGER, BOOLEAN, PATH

OPTIONS: dict[str, Kind] = {name: option.kind for name, option in BUILD_OPTIONS.items()}
"""The keys a build options file may hold (the options of ``remix build``) and what each holds."""

COMMAND_LINE_ONLY = frozenset(name for name, option in BUILD_OPTIONS.items() if not option.in_file)
"""Options a file may not set: replacing a corpus is consented to on the command line only."""


def _found(value: Any) -> str:
    """How a TOML value reads in a message: its type and, for a scalar, itself."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the float {value!r}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, list):
        return f"an array ({json.dumps(value, default=str)[:60]})"
    if isinstance(value, dict):
        return "a table"
    return f"a date or time ({value})"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _value(key: str, value: Any, *, where: str, folder: Path) -> Any:
    """``value`` checked against the kind of ``key`` and converted (floats, Paths)."""
    kind = OPTIONS[key]

    def wrong() -> RemixError:
        return RemixError(f"{where}: {key} must be {kind.name}, found {_found(value)}.")

    if kind is _NUMBERS:
        values = value if isinstance(value, list) else [value]
        if not all(_is_number(v) for v in values):
            raise wrong()
        if not values:
            raise RemixError(f"{where}: snr is an empty array; give at least one SNR, e.g. snr = [0, 10, 20].")
        return [float(v) for v in values]
    if kind is RANGE:
        if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
            raise wrong()
        return [float(v) for v in value]
    if kind is _NUMBER:
        if not _is_number(value):
            raise wrong()
        if not math.isfinite(value):
            raise RemixError(f"{where}: {key} must be a finite number, found {_found(value)}.")
        return float(value)
    if kind is _INTEGER:
        if not isinstance(value, int) or isinstance(value, bool):
            raise wrong()
        return value
    if kind is _BOOLEAN:
        if not isinstance(value, bool):
            raise wrong()
        return value
    if not isinstance(value, str):
        raise wrong()
    if kind is _PATH or (kind is REVERB and value not in (NONE, SIMULATED)):
        return folder / Path(value).expanduser()
    if kind.choices and value not in kind.choices:
        raise RemixError(
            f"{where}: {key} must be one of {', '.join(json.dumps(c) for c in kind.choices)}, found {_found(value)}."
        )
    return value


def _load_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise RemixError(
                "--config needs Python 3.11 or later (for tomllib), or the tomli package; "
                "pass the options on the command line instead."
            ) from None
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RemixError(f"cannot read the options file {path}: it does not exist.") from None
    except OSError as exc:
        raise RemixError(f"cannot read the options file {path}: {exc.strerror or exc}.") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except RecursionError:
        raise RemixError(
            f"{path} nests arrays or tables too deeply to read; an options file holds flat keys such as "
            "`snr = [0, 10, 20]`."
        ) from None
    except UnicodeDecodeError:
        raise RemixError(f"{path} is not a TOML file: it is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise RemixError(
            f"{path} is not valid TOML: {exc}. Expected lines such as `snr = [0, 10, 20]` and `clips_per_fold = 100`."
        ) from None


def read_config(path: Path) -> dict[str, Any]:
    """The options in a build options file, checked and converted.

    Parameters
    ----------
    path : Path
        A TOML file whose keys are options of ``remix build`` (module docstring).

    Returns
    -------
    dict
        Option name (with underscores) to value: SNRs as a list of floats, numbers
        as floats, paths as :class:`~pathlib.Path` relative to the file's folder.

    Raises
    ------
    RemixError
        For a file that cannot be read or is not TOML, an unknown key, a key given
        twice (``clips_per_fold`` and ``clips-per-fold``), or a value of the wrong type.
    """
    path = Path(path).expanduser()
    table = _load_toml(path)
    folder = path.resolve().parent
    out: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        if key not in OPTIONS:
            close = difflib.get_close_matches(key, OPTIONS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise RemixError(
                f"{path}: unknown option {raw_key!r}; {hint}the keys are the options of remix build: "
                f"{', '.join(OPTIONS)}."
            )
        if key in COMMAND_LINE_ONLY:
            raise RemixError(
                f"{path}: {key} cannot be set in an options file (a shared file must not decide what gets "
                f"replaced); pass --{key.replace('_', '-')} on the command line."
            )
        if key in out:
            raise RemixError(f"{path}: {key} is given twice (as {key!r} and with dashes); keep one.")
        out[key] = _value(key, value, where=str(path), folder=folder)
    return out


def reverb_options(options: Mapping[str, Any]) -> ReverbOptions:
    """The :class:`ReverbOptions` of build options (command-line names; a missing one takes its default)."""
    return BuildConfig.from_options(options).reverb_settings()


def recipe_and_render(options: Mapping[str, Any]) -> tuple[RecipeOptions, RenderSettings]:
    """The :class:`RecipeOptions` and :class:`RenderSettings` of build options (command-line names;
    :class:`BuildConfig`). Nothing is validated here (the build does)."""
    config = BuildConfig.from_options(options)
    return config.recipe_options(), config.render_settings()


def _ms(seconds: float) -> float:
    """Milliseconds that give back exactly ``seconds`` when divided by 1000 (as the command does)."""
    for digits in range(18):
        ms = round(seconds * 1000.0, digits)
        if ms / 1000.0 == seconds:
            return ms
    return seconds * 1000.0


def corpus_options(
    recipe: RecipeOptions,
    render: RenderSettings,
    *,
    seed: int,
    scenes_dir: Path | None = None,
    events_dir: Path | None = None,
    reverb: ReverbOptions | None = None,
    standin: str = DEFAULT_STANDIN,
    licences: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The build options (command-line names) that give ``recipe``, ``render``, ``seed``, ``reverb``
    and the stand-in kind back: :meth:`BuildConfig.to_options` of :meth:`BuildConfig.from_objects`."""
    config = BuildConfig.from_objects(
        recipe,
        render,
        seed=seed,
        scenes_dir=scenes_dir,
        events_dir=events_dir,
        reverb=reverb,
        standin=standin,
        licences=licences,
    )
    return config.to_options()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def corpus_toml(
    recipe: RecipeOptions,
    render: RenderSettings,
    *,
    seed: int,
    scenes_dir: Path | None = None,
    events_dir: Path | None = None,
    version: str = "",
    reverb: ReverbOptions | None = None,
    standin: str = DEFAULT_STANDIN,
    licences: Sequence[str] | None = None,
) -> str:
    """The corpus options of a build as a build options file (TOML text, with comments).

    A recipe with values the command cannot set (clip length, sample rate, the
    paper recipe's onsets) gets a comment naming them: such a build cannot be
    repeated from the command line.
    """
    options = corpus_options(
        recipe,
        render,
        seed=seed,
        scenes_dir=scenes_dir,
        events_dir=events_dir,
        reverb=reverb,
        standin=standin,
        licences=licences,
    )
    lines = [
        f"# Options of the remix build{f' (remix {version})' if version else ''} that made this corpus.",
        "# Repeat it with: remix build --config build.toml --out NEW_FOLDER",
        "# (options given on the command line override these; where the corpus goes and how the",
        "# build runs -- out, workers, cluster, overwrite, strict, progress -- are not recorded).",
    ]
    if scenes_dir is None:
        lines.append("# Sources: the built-in stand-in (no scenes and events).")
    unset = [k for k in ("test_clips", "events_per_clip", "fade_ms") if k not in options]
    if unset:
        lines.append(f"# Left to their defaults: {', '.join(unset)}.")
    defaults = RecipeOptions()
    fixed = [
        f"{name} = {_toml_value(getattr(recipe, name))}"
        for name in ("clip_duration_s", "sample_rate", "onsets_s")
        if getattr(recipe, name) != getattr(defaults, name)
    ]
    if fixed:
        lines.append(f"# Not settable by remix build (this build cannot be repeated from it): {'; '.join(fixed)}.")
    lines += [f"{key} = {_toml_value(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- one build's configuration

CORPUS_OPTIONS: tuple[str, ...] = tuple(name for name, option in BUILD_OPTIONS.items() if option.corpus)
"""The options that change the corpus, in the order its ``build.toml`` lists them."""


def _frozen(value: Any) -> Any:
    """An option's value in hashable form: lists as tuples (SNRs, ranges)."""
    return tuple(value) if isinstance(value, list) else value


def parse_targets(value: str | Sequence[str]) -> tuple[str, ...]:
    """``--targets``: class names, comma-separated, or ``@FILE`` (names one per line or comma-separated,
    ``#`` comments), or a sequence of names; sorted, without repeats."""
    if isinstance(value, str) and value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RemixError(
                f"--targets {value}: cannot read {path} ({exc}); give a text file of class names."
            ) from None
        value = ",".join(line.split("#", 1)[0] for line in text.splitlines())
    names = value.split(",") if isinstance(value, str) else list(value)
    return tuple(sorted({str(n).strip() for n in names if str(n).strip()}))


def _as_field(name: str, value: Any) -> Any:
    """An option's value (command-line units) as its target field takes it."""
    if value is None:
        return None
    if name == "fade_ms":
        return value / 1000.0
    if name == "licences":
        return tuple(sorted(parse_licences(value))) if isinstance(value, str) else tuple(sorted(value))
    if name == "targets":
        return parse_targets(value)
    if name == "reverb":
        return str(value)
    if BUILD_OPTIONS[name].kind in (NUMBERS, RANGE):
        return tuple(float(v) for v in value)
    if BUILD_OPTIONS[name].kind is PATH:
        return Path(value)
    return value


def _as_option(name: str, value: Any) -> Any:
    """A target field's value back in the option's form (inverse of :func:`_as_field`)."""
    if value is None:
        return None
    if name == "fade_ms":
        return _ms(float(value))
    if name in ("licences", "targets"):
        return ",".join(sorted(value))
    if name == "reverb":
        return str(value)
    kind = BUILD_OPTIONS[name].kind
    if kind in (NUMBERS, RANGE):
        return tuple(float(v) for v in value)
    if kind is PATH:
        return str(value)
    if kind is NUMBER:
        return float(value)
    if kind is INTEGER:
        return int(value)
    if kind is BOOLEAN:
        return bool(value)
    return value


class _BuildConfigMethods:
    """The methods of :class:`BuildConfig` (its fields come from :data:`remix.options.BUILD_OPTIONS`;
    a method is never named as an option is, e.g. ``recipe``, ``reverb``, ``seed``)."""

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Any:
        """The configuration of build options by name (command-line names and units, as
        :func:`read_config` and ``remix build`` give them), each in one normal form (numbers as
        floats, lists as tuples, paths as strings, licences sorted); options of the run are
        ignored, a missing corpus option takes its default."""
        return cls(**{k: _as_option(k, _as_field(k, v)) for k, v in options.items() if k in CORPUS_OPTIONS})

    @classmethod
    def from_file(cls, path: Path) -> Any:
        """The configuration of a build options file (:func:`read_config`: one line per problem)."""
        return cls.from_options(read_config(path))

    @classmethod
    def from_objects(
        cls,
        recipe: RecipeOptions,
        render: RenderSettings,
        *,
        seed: int,
        scenes_dir: Path | None = None,
        events_dir: Path | None = None,
        reverb: ReverbOptions | None = None,
        standin: str | None = DEFAULT_STANDIN,
        licences: Sequence[str] | None = None,
    ) -> Any:
        """The configuration that gives these objects back (every option through its ``target``)."""
        objects = {
            "recipe": recipe,
            "render": render,
            "reverb": reverb or ReverbOptions(),
            "sources": {"scenes_dir": scenes_dir, "events_dir": events_dir, "standin": standin, "licences": licences},
        }
        values = {}
        for name in CORPUS_OPTIONS:
            target = BUILD_OPTIONS[name].target
            assert target is not None, name  # every corpus option names where it goes
            if target == "seed":
                owner, attribute, value = "seed", "", seed
            else:
                owner, _, attribute = target.partition(".")
                holder: Any = objects[owner]
                value = holder[attribute] if isinstance(holder, dict) else getattr(holder, attribute)
            if owner == "reverb" and attribute == "source" and reverb is not None and reverb.folder is not None:
                value = reverb.to_dict()["source"]  # a folder as its absolute path
            values[name] = _as_option(name, value)
        return cls(**values)

    def _fields(self, owner: str) -> dict[str, Any]:
        out = {}
        for name in CORPUS_OPTIONS:
            target = BUILD_OPTIONS[name].target or ""
            if target.startswith(owner + "."):
                out[target.partition(".")[2]] = _as_field(name, getattr(self, name))
        return out

    def recipe_options(self) -> RecipeOptions:
        """The :class:`RecipeOptions` of this configuration (not validated: the build does)."""
        return RecipeOptions(**self._fields("recipe"))

    def render_settings(self) -> RenderSettings:
        """The :class:`RenderSettings` of this configuration, at the recipe's sample rate and clip length."""
        recipe = self.recipe_options()
        fields = self._fields("render")
        fields["snrs"] = fields.get("snrs") or ()
        return RenderSettings(**fields, sample_rate=recipe.sample_rate, clip_samples=recipe.clip_samples)

    def reverb_settings(self) -> ReverbOptions:
        """The :class:`ReverbOptions` of this configuration."""
        return ReverbOptions(**self._fields("reverb"))

    def source_folders(self) -> dict[str, Any]:
        """The keyword arguments of :class:`remix.build.SourceFolders`: ``scenes_dir``, ``events_dir``,
        ``standin``, ``licences``."""
        return self._fields("sources")

    def to_options(self) -> dict[str, Any]:
        """What a corpus's ``build.toml`` records, in its order: options left to a default of None, the
        sources of a stand-in build, and the reverberation options of a dry one are left out; a
        stand-in build always names its stand-in kind."""
        values = {name: getattr(self, name) for name in CORPUS_OPTIONS}
        dry = values["reverb"] in (None, NONE)
        out = {}
        for name, value in values.items():
            if value is None or (dry and BUILD_OPTIONS[name].target.startswith("reverb.")):  # type: ignore[union-attr]
                continue
            if not BUILD_OPTIONS[name].listed_at_default and value == _frozen(BUILD_OPTIONS[name].default):
                continue
            if name == "standin" and values["scenes"] is not None:
                continue
            out[name] = list(value) if isinstance(value, tuple) else value
        if values["scenes"] is None and "standin" not in out:
            out["standin"] = DEFAULT_STANDIN
        return out


BuildConfig = dataclasses.make_dataclass(
    "BuildConfig",
    [(name, Any, dataclasses.field(default=_frozen(BUILD_OPTIONS[name].default))) for name in CORPUS_OPTIONS],
    bases=(_BuildConfigMethods,),
    frozen=True,
)
BuildConfig.__module__ = __name__
BuildConfig.__doc__ = """One build's corpus options: a field per corpus option of :data:`remix.options.BUILD_OPTIONS`
(generated from that table, with its defaults), in command-line names and units.

It is read from the command line or an options file (:meth:`from_options`, :meth:`from_file`),
made from the library's objects (:meth:`from_objects`), turned into them (:meth:`recipe_options`,
:meth:`render_settings`, :meth:`reverb_settings`, :meth:`source_folders`, following each option's
``target``) and written
back as the ``build.toml`` a corpus keeps (:meth:`to_options`, :func:`corpus_toml`). Adding a build
option is one row of the table (with its target) and the code that uses the target field."""
