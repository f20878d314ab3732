"""Shared fixtures of the remix tests: a tiny stand-in corpus in the real layouts."""

from __future__ import annotations

import pytest

from remix.standin import SyntheticSources, ensure_sources


@pytest.fixture(scope="session")
def tiny_sources(tmp_path_factory) -> SyntheticSources:
    """A tiny stand-in: 2 cities x 10 scenes (1 recording each), 4 train (3 verified) and 2 test events per label."""
    root = tmp_path_factory.mktemp("standin") / "tiny"
    return ensure_sources(
        root,
        seed=0,
        scenes_per_pair=1,
        cities=("barcelona", "helsinki"),
        train_per_label=4,
        verified_per_label=3,
        test_per_label=2,
        workers=2,
    )
