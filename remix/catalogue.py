"""The archives of the two source corpora: names, sizes, checksums, addresses.

Figures and where they come from:

* TAU Urban Acoustic Scenes 2019, development set (Zenodo record 2589280): the
  byte size and md5 of every archive as listed by dcase_util
  (``datasets/tut.py``, ``TAUUrbanAcousticScenes_2019_DevelopmentSet``); the md5s
  agree with soundata (``datasets/tau2019uas.py``). The 21 audio archives add up
  to 35,622,369,320 bytes.
* FSDKaggle2018 (Zenodo record 2552860): no public loader we could find lists
  the archive sizes, so ``size`` is ``None`` and a download is checked against
  the length the server announces (the fetch record says so). The md5s come from
  a third-party download script and are marked unconfirmed. ``approx_size`` is a
  rough planning figure for the disk-space check only (the record's audio is
  about 4.6 GiB in all), never used to verify anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ZENODO_FILES = "https://zenodo.org/records/{record_id}/files"
"""Base address of a Zenodo record's files; ``<base>/<name>?download=1``."""


@dataclass(frozen=True)
class Archive:
    """One downloadable archive.

    Parameters
    ----------
    name : str
        File name on the server and on disk.
    size : int or None
        Exact size in bytes from a public source, or ``None`` when unknown.
    md5 : str or None
        Expected md5 (32 hex digits), or ``None`` when unknown.
    md5_confirmed : bool
        Whether the md5 comes from a source we trust (the dataset's own loader
        lists or the record); ``False`` for figures seen only in third-party
        scripts.
    approx_size : int
        Planning estimate in bytes, used for the disk-space check and the
        progress bar when ``size`` is unknown.
    md5_origin : str
        Where the md5 comes from, for the fetch record (default: this catalogue).
    """

    name: str
    size: int | None
    md5: str | None
    md5_confirmed: bool = True
    approx_size: int = 0
    md5_origin: str = "catalogue"

    @property
    def planning_size(self) -> int:
        """Exact size when known, else the planning estimate (bytes)."""
        return self.size if self.size is not None else self.approx_size


@dataclass(frozen=True)
class Dataset:
    """A corpus as a set of archives that unpack into one folder layout.

    Parameters
    ----------
    key : str
        Short name used on the command line (``tau2019``).
    title : str
        Human-readable name.
    record_id : int
        Zenodo record holding the archives.
    archives : tuple of Archive
        Every archive to fetch, in download order (small ones first).
    roots : tuple of str
        Top-level folder each archive unpacks into, parallel to ``archives``.
        A member path that does not already start with it is placed under it.
    expected : tuple of str
        Paths (relative to the download folder) that must exist once every
        archive is unpacked; a trailing ``/`` marks a folder.
    expansion : float
        Unpacked bytes per archive byte, for the disk-space estimate.
    url_suffix : str
        Appended to ``<base>/<name>`` for the default (Zenodo) address.
    """

    key: str
    title: str
    record_id: int
    archives: tuple[Archive, ...]
    roots: tuple[str, ...]
    expected: tuple[str, ...]
    expansion: float
    base_url: str = ""
    url_suffix: str = "?download=1"

    def __post_init__(self) -> None:
        if len(self.roots) != len(self.archives):
            raise ValueError(f"{self.key}: {len(self.archives)} archives but {len(self.roots)} roots")

    @property
    def default_base(self) -> str:
        """Base address of the record's files."""
        return self.base_url or ZENODO_FILES.format(record_id=self.record_id)

    def root_of(self, archive: Archive) -> str:
        """Top-level folder ``archive`` unpacks into."""
        return self.roots[self.archives.index(archive)]


def archive_url(dataset: Dataset, archive: Archive, *, mirror: str | None = None) -> str:
    """Address of ``archive``: the record's own, or ``<mirror>/<name>``."""
    if mirror:
        return f"{mirror.rstrip('/')}/{archive.name}"
    return f"{dataset.default_base.rstrip('/')}/{archive.name}{dataset.url_suffix}"


_TAU = "TAU-urban-acoustic-scenes-2019-development"

# (index, bytes, md5) of audio.1 ... audio.21
_TAU_AUDIO: tuple[tuple[int, int, str], ...] = (
    (1, 1_657_550_587, "aca4ebfd9ed03d5f747d6ba8c24bc728"),
    (2, 1_666_219_450, "c4f170408ce77c8c70c532bf268d7be0"),
    (3, 1_817_901_591, "c7214a07211f10f3250290d05e72c37e"),
    (4, 1_821_710_642, "a6a62110f6699cf4432072acb1dffda6"),
    (5, 1_803_118_466, "091a0b6d3c84b8e60e46940aa7d4a8a0"),
    (6, 1_789_566_029, "114f4ca13e074391b98a1cfd8140de65"),
    (7, 1_747_953_866, "5951dd2968f7a514e2afbe279c4f060d"),
    (8, 1_728_724_513, "b0b63dc95b327e1509857c8d8a663cc3"),
    (9, 1_667_106_209, "3c32a693a6b111ffb957be3c1dd22e9b"),
    (10, 1_632_636_175, "0ffbf60006da520cc761fb74c878b98b"),
    (11, 1_671_793_546, "599055d93b4c11057c29be2df54538d4"),
    (12, 1_672_592_150, "98b8d162ff3665695c4c910e6c372cc8"),
    (13, 1_673_481_614, "a356c08b1a5a21d433eba37ef87587f4"),
    (14, 1_666_137_450, "f8969771e7faf7dd471d1cf78b0cf011"),
    (15, 1_675_127_004, "4758c4b0fb7484faa632266e78850820"),
    (16, 1_648_240_966, "a18acad9ede8ea76574216feb887f0bc"),
    (17, 1_698_414_214, "1af7703484632f340da5c33662dc9632"),
    (18, 1_731_093_704, "b67402bf3e08f4da394a7c18756c0fd2"),
    (19, 1_745_153_640, "035db315f19106eb848b6f9b32bcc47c"),
    (20, 1_774_038_704, "9cb28c74911bf8a3eadcf53f50a5b5d6"),
    (21, 1_333_808_800, "0e44ed85c88ec036a9725b4dd1dfaea0"),
)

TAU2019 = Dataset(
    key="tau2019",
    title="TAU Urban Acoustic Scenes 2019, development set",
    record_id=2589280,
    archives=(
        Archive(f"{_TAU}.doc.zip", 11_299, "1f6879544e80da70099a191613e7e51f"),
        Archive(f"{_TAU}.meta.zip", 156_863, "09782f2097e4735687af73c44919329c"),
        *(Archive(f"{_TAU}.audio.{i}.zip", size, md5) for i, size, md5 in _TAU_AUDIO),
    ),
    roots=(_TAU,) * (2 + len(_TAU_AUDIO)),
    expected=(f"{_TAU}/audio/", f"{_TAU}/meta.csv", f"{_TAU}/evaluation_setup/"),
    # 14,400 clips x 10 s x 48 kHz x 2 channels x 3 bytes = 41.5 GB of WAV from
    # 35.6 GB of archives.
    expansion=1.17,
)

_FSD = "FSDKaggle2018"

FSD2018 = Dataset(
    key="fsd2018",
    title="FSDKaggle2018",
    record_id=2552860,
    archives=(
        Archive(f"{_FSD}.doc.zip", None, "4f2d1ac88f33a62f9db3108b269ee1b7", False, 1_000_000),
        Archive(f"{_FSD}.meta.zip", None, "f16828ac8be0e5285b9175a12f90d784", False, 5_000_000),
        Archive(f"{_FSD}.audio_test.zip", None, "f85c8665c3fc39311ea1b748e194a81d", False, 900_000_000),
        Archive(f"{_FSD}.audio_train.zip", None, "a8b47ff4b52022c178f88fa5c6f080d0", False, 4_300_000_000),
    ),
    roots=(f"{_FSD}.doc", f"{_FSD}.meta", f"{_FSD}.audio_test", f"{_FSD}.audio_train"),
    expected=(
        f"{_FSD}.audio_train/",
        f"{_FSD}.audio_test/",
        f"{_FSD}.meta/train_post_competition.csv",
        f"{_FSD}.meta/test_post_competition_scoring_clips.csv",
    ),
    # WAV barely compresses in a zip; a generous planning ratio.
    expansion=1.15,
)

CATALOGUE: Mapping[str, Dataset] = {d.key: d for d in (TAU2019, FSD2018)}
"""The datasets ``remix fetch`` knows, by command-line name."""
