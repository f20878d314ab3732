"""A built corpus's sources read back, for fresh mixtures of its training folds (:func:`corpus_sources`).

Training with ``--mixing online`` draws new clips every epoch from the very sources a corpus's
own clips were drawn from: this module finds them from the corpus card and checks, by making
the corpus's plans again through the build's own planning path (:func:`remix.build.plan_sources`),
that they still give exactly its clips.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from remix.build import build_rooms, plan_sources
from remix.errors import RemixError
from remix.manifest import BUILD_DIR, MANIFEST_DIR, read_corpus_info
from remix.recipe import RecipeOptions, Rooms, fold_pools
from remix.render import RenderSettings
from remix.reverb import ReverbOptions
from remix.sources import read_fsd2018, read_tau2019
from remix.sources.record import changed_sources


@dataclasses.dataclass(frozen=True)
class CorpusSources:
    """The sources a built corpus was planned from, read back for new mixtures of it.

    Attributes
    ----------
    pools : dict of int to FoldPool
        Every fold's usable sources (:func:`remix.recipe.fold_pools`).
    recipe : RecipeOptions
    render : RenderSettings
    seed : int
        The corpus seed.
    plans : list of ClipPlan
        The corpus's own clip plans (as its build made them).
    rooms : Rooms or None
        Where the corpus's events sound (None: dry), for new mixtures alike.
    """

    pools: dict
    recipe: RecipeOptions
    render: RenderSettings
    seed: int
    plans: list
    rooms: Rooms | None = None


def corpus_sources(corpus_dir: Path) -> CorpusSources:
    """Read a built corpus's sources back, checked against its plans.

    The source folders, options and seed come from ``manifest/corpus.json``; files the build
    skipped (``manifest/skipped.parquet``) stay unused; the corpus's clip plans are made again
    and must give the plan digest the corpus records, so the folds' sources are exactly those
    its clips were drawn from. When the build recorded its source files (``.build/sources.parquet``,
    :mod:`remix.sources.record`), a file rewritten, truncated or gone since is refused, even where
    the plans would come out the same (same lengths, other audio).

    Raises
    ------
    RemixError
        A corpus without its card, source folders that moved or changed since the build.
    """
    corpus_dir = Path(corpus_dir)
    info = read_corpus_info(corpus_dir)
    try:
        recipe_dict = dict(info["options"])
        recipe_dict["onsets_s"] = tuple(recipe_dict.get("onsets_s", RecipeOptions().onsets_s))
        recipe = RecipeOptions(**recipe_dict)
        render_dict = dict(info["render"])
        render_dict["snrs"] = tuple(render_dict["snrs"])
        render = RenderSettings(**render_dict)
        seed = int(info["seed"])
        scenes_dir, events_dir = Path(info["sources"]["scenes_dir"]), Path(info["sources"]["events_dir"])
        reverb = ReverbOptions.from_dict(info.get("reverb"))
    except (KeyError, TypeError, ValueError) as exc:
        raise RemixError(
            f"{corpus_dir / MANIFEST_DIR / 'corpus.json'} does not record the build's options ({exc}); "
            "rebuild the corpus with this version"
        ) from None
    for folder in (scenes_dir, events_dir):
        if not folder.is_dir():
            raise RemixError(
                f"the source folder {folder} the corpus was built from is missing; fresh mixtures need the "
                "sources (for the stand-in, run remix build once to write them again)"
            )
    changed = changed_sources(corpus_dir)
    if changed:
        path, what = changed[0]
        raise RemixError(
            f"{len(changed)} source file(s) of {corpus_dir} changed since it was built ({path}: {what}"
            f"{'; ...' if len(changed) > 1 else ''}); fresh mixtures would no longer be drawn from its sources. "
            "Put the sources back, rebuild the corpus (remix build ... --overwrite), or train with --mixing fixed."
        )
    scenes = read_tau2019(scenes_dir)
    events = read_fsd2018(events_dir)
    skipped_path = corpus_dir / MANIFEST_DIR / "skipped.parquet"
    skipped = set(pd.read_parquet(skipped_path)["path"]) if skipped_path.is_file() else set()
    usable = (set(scenes["path"]) | set(events["path"])) - skipped
    rooms = None
    if reverb.active:
        if reverb.folder is not None and not reverb.folder.is_dir():
            raise RemixError(f"the impulse response folder {reverb.folder} the corpus was built with is missing")
        rooms, _ = build_rooms(reverb, sample_rate=recipe.sample_rate)
    events, plans, digest = plan_sources(
        scenes,
        events,
        events_dir=events_dir,
        usable=usable,
        recipe=recipe,
        seed=seed,
        rooms=rooms,
        cache_file=corpus_dir / BUILD_DIR / "source_check.parquet",
    )
    if digest != info.get("plan_digest"):
        raise RemixError(
            f"the sources in {scenes_dir} and {events_dir} no longer give the clips of {corpus_dir} (plan "
            f"digest {digest}, the corpus records {info.get('plan_digest')}); fresh mixtures need the sources "
            "it was built from"
        )
    return CorpusSources(
        pools=fold_pools(scenes, events, options=recipe, seed=seed, usable=usable),
        recipe=recipe,
        render=render,
        seed=seed,
        plans=plans,
        rooms=rooms,
    )
