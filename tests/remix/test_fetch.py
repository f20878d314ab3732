"""Tests of ``remix fetch`` against a local HTTP server serving small fixture archives."""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from remix import fetch as fetch_mod
from remix.catalogue import CATALOGUE, FSD2018, TAU2019, Archive, Dataset, archive_url
from remix.errors import RemixError
from remix.extract import safe_extract
from remix.fetch import download, fetch
from remix.fetch_cli import fetch as fetch_command

TAU = "TAU-urban-acoustic-scenes-2019-development"
FSD = "FSDKaggle2018"


# ------------------------------------------------------------------- fixtures


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _noise(n: int, seed: int) -> bytes:
    return np.random.default_rng(np.random.SeedSequence(seed)).integers(0, 256, n, dtype=np.uint8).tobytes()


def _archives() -> dict[str, bytes]:
    """Small archives in the real layouts (the FSD audio ones without a top folder)."""
    tau_meta = (
        "filename\tscene_label\tidentifier\tsource_label\naudio/airport-barcelona-0-0-a.wav\tairport\tbarcelona-0\ta\n"
    )
    return {
        f"{TAU}.meta.zip": _zip(
            {
                f"{TAU}/meta.csv": tau_meta.encode(),
                f"{TAU}/evaluation_setup/fold1_train.csv": b"filename\tscene_label\n",
                f"{TAU}/evaluation_setup/fold1_evaluate.csv": b"filename\tscene_label\n",
                f"{TAU}/evaluation_setup/fold1_test.csv": b"filename\n",
            }
        ),
        f"{TAU}.audio.1.zip": _zip(
            {
                f"{TAU}/audio/airport-barcelona-0-0-a.wav": _noise(150_000, 1),
                f"{TAU}/audio/bus-lyon-1-10-a.wav": _noise(90_000, 2),
            }
        ),
        f"{FSD}.meta.zip": _zip(
            {
                f"{FSD}.meta/train_post_competition.csv": b"fname,label,manually_verified,freesound_id,license\n",
                f"{FSD}.meta/test_post_competition_scoring_clips.csv": b"fname,label,usage,freesound_id,license\n",
            }
        ),
        f"{FSD}.audio_train.zip": _zip({"00044347.wav": _noise(40_000, 3)}),
        f"{FSD}.audio_test.zip": _zip({"00063640.wav": _noise(20_000, 4)}),
    }


def _catalogue(files: dict[str, bytes]) -> dict[str, Dataset]:
    """TAU with exact sizes and md5s; FSD with md5s only (sizes unknown, as in the real catalogue)."""

    def known(name: str) -> Archive:
        return Archive(name, len(files[name]), hashlib.md5(files[name]).hexdigest())

    def unknown_size(name: str) -> Archive:
        return Archive(name, None, hashlib.md5(files[name]).hexdigest(), False, 50_000)

    tau = Dataset(
        key="tau2019",
        title="TAU fixture",
        record_id=1,
        archives=(known(f"{TAU}.meta.zip"), known(f"{TAU}.audio.1.zip")),
        roots=(TAU, TAU),
        expected=TAU2019.expected,
        expansion=1.2,
    )
    fsd = Dataset(
        key="fsd2018",
        title="FSD fixture",
        record_id=2,
        archives=tuple(unknown_size(f"{FSD}.{p}.zip") for p in ("meta", "audio_test", "audio_train")),
        roots=(f"{FSD}.meta", f"{FSD}.audio_test", f"{FSD}.audio_train"),
        expected=FSD2018.expected,
        expansion=1.2,
    )
    return {"tau2019": tau, "fsd2018": fsd}


@dataclass
class ServerState:
    files: dict[str, bytes]
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    drop_once: set[str] = field(default_factory=set)
    fail_once: set[str] = field(default_factory=set)
    corrupt: set[str] = field(default_factory=set)
    stall_once: set[str] = field(default_factory=set)
    ignore_range: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def names(self) -> list[str]:
        return [name for name, _ in self.requests]


def _handler(state: ServerState, stopped: threading.Event | None = None) -> type[BaseHTTPRequestHandler]:
    stopped = stopped or threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (silence)
            pass

        def do_GET(self) -> None:  # noqa: N802
            name = urlsplit(self.path).path.lstrip("/")
            range_header = self.headers.get("Range")
            with state.lock:
                state.requests.append((name, range_header))
                fail = name in state.fail_once
                drop = name in state.drop_once
                stall = name in state.stall_once
                state.fail_once.discard(name)
                state.drop_once.discard(name)
                state.stall_once.discard(name)
            if fail:
                self.send_error(500, "fixture failure")
                return
            if name not in state.files:
                self.send_error(404)
                return
            data = bytearray(state.files[name])
            if name in state.corrupt:
                data[len(data) // 2] ^= 0xFF
            start = 0
            match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
            if match and not state.ignore_range:
                start = int(match.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = bytes(data[start:])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if drop or stall:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                if stall:  # longer than the client's timeout, then give up
                    stopped.wait(1.0)
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def served() -> Iterator[tuple[ServerState, str, dict[str, Dataset]]]:
    files = _archives()
    state = ServerState(files=files)
    stopped = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state, stopped))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}", _catalogue(files)
    finally:
        stopped.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _run(names, to: Path, mirror: str, catalogue, **kwargs):
    sleeps: list[float] = []
    options = dict(retries=2, backoff_s=0.01, timeout_s=5.0, progress=False, sleep=sleeps.append)
    options.update(kwargs)
    result = fetch(names, to, mirror=mirror, catalogue=catalogue, **options)
    return result, sleeps


# ---------------------------------------------------------------------- tests


def test_real_catalogue_figures() -> None:
    audio = [a for a in TAU2019.archives if ".audio." in a.name]
    assert len(audio) == 21
    assert sum(a.size for a in audio) == 35_622_369_320
    assert TAU2019.archives[0].size == 11_299 and TAU2019.archives[1].size == 156_863
    for dataset in CATALOGUE.values():
        for archive in dataset.archives:
            assert archive.md5 is not None and re.fullmatch(r"[0-9a-f]{32}", archive.md5)
            assert archive.planning_size > 0
    assert all(a.size is None and not a.md5_confirmed for a in FSD2018.archives)
    first = TAU2019.archives[2]
    assert archive_url(TAU2019, first) == f"https://zenodo.org/records/2589280/files/{first.name}?download=1"
    assert archive_url(TAU2019, first, mirror="http://m.example/x/") == f"http://m.example/x/{first.name}"


def test_clean_download_extracts_layouts_and_records(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    result, sleeps = _run(["tau2019", "fsd2018"], tmp_path, mirror, catalogue)

    assert [o.status for o in result.outcomes] == ["fetched"] * 5
    assert result.downloaded_bytes == sum(len(b) for b in state.files.values())
    assert all(r is None for _, r in state.requests) and sleeps == []
    assert (tmp_path / TAU / "meta.csv").read_text().startswith("filename\tscene_label")
    assert (tmp_path / TAU / "evaluation_setup" / "fold1_test.csv").is_file()
    assert (tmp_path / TAU / "audio" / "bus-lyon-1-10-a.wav").read_bytes() == _noise(90_000, 2)
    assert (tmp_path / f"{FSD}.audio_train" / "00044347.wav").stat().st_size == 40_000
    assert (tmp_path / f"{FSD}.audio_test" / "00063640.wav").is_file()
    assert (tmp_path / f"{FSD}.meta" / "train_post_competition.csv").is_file()
    # archives removed after a verified extraction, no temporary trees left
    assert not list(tmp_path.glob("*.zip*"))
    assert not list((tmp_path / ".fetch").glob("tmp-*"))

    tau_record = json.loads((tmp_path / ".fetch" / "tau2019.json").read_text())
    entry = tau_record["archives"][f"{TAU}.audio.1.zip"]
    assert entry["extracted"] is True and entry["md5"] == catalogue["tau2019"].archives[1].md5
    assert entry["size"] == len(state.files[f"{TAU}.audio.1.zip"]) and entry["size_checked_against"] == "catalogue"
    fsd_entry = json.loads((tmp_path / ".fetch" / "fsd2018.json").read_text())["archives"][f"{FSD}.meta.zip"]
    assert "Content-Length" in fsd_entry["size_checked_against"]
    assert "unconfirmed" in fsd_entry["md5_checked_against"]


def test_rerun_downloads_nothing_and_keep_archives(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    _run(["tau2019"], tmp_path, mirror, catalogue, keep_archives=True)
    assert (tmp_path / f"{TAU}.audio.1.zip").is_file()  # kept
    first = len(state.requests)
    assert first == 2

    again, _ = _run(["tau2019", "tau2019"], tmp_path, mirror, catalogue)
    assert len(state.requests) == first
    assert [o.status for o in again.outcomes] == ["already verified"] * 2
    assert again.downloaded_bytes == 0


def test_resume_after_dropped_connection(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    name = f"{TAU}.audio.1.zip"
    state.drop_once.add(name)
    result, sleeps = _run(["tau2019"], tmp_path, mirror, catalogue)

    audio_requests = [r for n, r in state.requests if n == name]
    assert len(audio_requests) == 2
    assert audio_requests[0] is None
    resumed_at = int(re.fullmatch(r"bytes=(\d+)-", audio_requests[1]).group(1))
    assert 0 < resumed_at < len(state.files[name])
    assert len(sleeps) == 1
    assert result.outcomes[1].downloaded_bytes == len(state.files[name])
    record = json.loads((tmp_path / ".fetch" / "tau2019.json").read_text())
    assert record["archives"][name]["md5"] == hashlib.md5(state.files[name]).hexdigest()
    assert (tmp_path / TAU / "audio" / "airport-barcelona-0-0-a.wav").read_bytes() == _noise(150_000, 1)


def test_timeout_mid_file_is_retried_with_range(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    name = f"{FSD}.audio_train.zip"
    state.stall_once.add(name)
    result, sleeps = _run(["fsd2018"], tmp_path, mirror, catalogue, timeout_s=0.3)
    ranges = [r for n, r in state.requests if n == name]
    assert ranges[0] is None and ranges[1] == f"bytes={len(state.files[name]) // 2}-"
    assert len(sleeps) == 1 and result.outcomes[2].status == "fetched"


def test_server_ignoring_range_restarts_from_zero(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    state.ignore_range = True
    name = f"{TAU}.audio.1.zip"
    (tmp_path / f"{name}.part").write_bytes(b"junk that is not the archive")
    result, _ = _run(["tau2019"], tmp_path, mirror, catalogue)
    assert (name, "bytes=28-") in state.requests
    assert result.outcomes[1].status == "fetched"
    assert (tmp_path / TAU / "audio" / "bus-lyon-1-10-a.wav").read_bytes() == _noise(90_000, 2)


def test_partial_file_on_disk_is_resumed_with_range(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    name = f"{FSD}.audio_train.zip"
    (tmp_path / f"{name}.part").write_bytes(state.files[name][:1000])
    result, _ = _run(["fsd2018"], tmp_path, mirror, catalogue)
    assert (name, "bytes=1000-") in state.requests
    assert result.outcomes[2].downloaded_bytes == len(state.files[name]) - 1000
    assert (tmp_path / f"{FSD}.audio_train" / "00044347.wav").read_bytes() == _noise(40_000, 3)


def test_complete_part_file_is_accepted_on_416(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    name = f"{FSD}.meta.zip"
    (tmp_path / f"{name}.part").write_bytes(state.files[name])
    result, sleeps = _run(["fsd2018"], tmp_path, mirror, catalogue)
    assert [r for n, r in state.requests if n == name] == [f"bytes={len(state.files[name])}-"]
    assert result.outcomes[0].status == "fetched" and sleeps == []


def test_corrupted_archive_is_moved_aside_and_not_extracted(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    name = f"{TAU}.audio.1.zip"
    state.corrupt.add(name)
    expected = catalogue["tau2019"].archives[1].md5
    corrupted = bytearray(state.files[name])
    corrupted[len(corrupted) // 2] ^= 0xFF
    actual = hashlib.md5(corrupted).hexdigest()

    with pytest.raises(RemixError) as info:
        _run(["tau2019"], tmp_path, mirror, catalogue)
    message = str(info.value)
    assert name in message and expected in message and actual in message
    assert "run the same command again" in message
    assert (tmp_path / f"{name}.corrupt").read_bytes() == bytes(corrupted)
    assert not (tmp_path / name).exists()
    assert not (tmp_path / TAU / "audio").exists()
    # the archive verified before the failure is kept and recorded
    record = json.loads((tmp_path / ".fetch" / "tau2019.json").read_text())
    assert record["archives"][f"{TAU}.meta.zip"]["extracted"] is True
    assert name not in record["archives"] or record["archives"][name]["extracted"] is False

    state.corrupt.clear()
    state.requests.clear()
    result, _ = _run(["tau2019"], tmp_path, mirror, catalogue)
    assert state.names() == [name]
    assert [o.status for o in result.outcomes] == ["already verified", "fetched"]


def test_md5_override_replaces_an_unconfirmed_figure(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    name = f"{FSD}.meta.zip"
    wrong = {
        "fsd2018": replace(
            catalogue["fsd2018"],
            archives=tuple(replace(a, md5="0" * 32) if a.name == name else a for a in catalogue["fsd2018"].archives),
        )
    }
    with pytest.raises(RemixError, match=rf"unconfirmed.*--md5 {re.escape(name)}="):
        _run(["fsd2018"], tmp_path, mirror, wrong)
    assert (tmp_path / f"{name}.corrupt").is_file() and not (tmp_path / f"{FSD}.meta").exists()

    right = hashlib.md5(state.files[name]).hexdigest()
    result, _ = _run(["fsd2018"], tmp_path, mirror, wrong, md5s={name: right.upper()})
    assert [o.status for o in result.outcomes] == ["fetched"] * 3
    entry = json.loads((tmp_path / ".fetch" / "fsd2018.json").read_text())["archives"][name]
    assert entry["md5"] == right and entry["md5_checked_against"] == "given with --md5"
    with pytest.raises(RemixError, match="not an archive"):
        _run(["fsd2018"], tmp_path, mirror, wrong, md5s={"nope.zip": right})


def test_truncated_local_archive_reports_sizes(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    name = f"{TAU}.meta.zip"
    (tmp_path / name).write_bytes(state.files[name][:-10])
    with pytest.raises(RemixError, match=rf"{re.escape(name)}.*expected {len(state.files[name]):,} bytes, found"):
        _run(["tau2019"], tmp_path, mirror, catalogue)
    assert (tmp_path / f"{name}.corrupt").is_file()
    assert state.requests == []


def test_server_offering_wrong_size_is_refused(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    name = f"{TAU}.meta.zip"
    state.files[name] = state.files[name][:-5]
    with pytest.raises(RemixError, match="holds a different file"):
        _run(["tau2019"], tmp_path, mirror, catalogue)
    assert not (tmp_path / TAU).exists()


def test_server_error_is_retried(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    name = f"{FSD}.audio_test.zip"
    state.fail_once.add(name)
    result, sleeps = _run(["fsd2018"], tmp_path, mirror, catalogue)
    assert state.names().count(name) == 2
    assert sleeps == [0.01]
    assert result.outcomes[1].status == "fetched"
    assert (tmp_path / f"{FSD}.audio_test" / "00063640.wav").is_file()


def test_network_down_gives_up_after_bounded_retries(tmp_path: Path) -> None:
    files = _archives()
    catalogue = _catalogue(files)
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RemixError, match=r"giving up on .*3 failed attempt\(s\).*resumes"):
        _run(["fsd2018"], tmp_path, f"http://127.0.0.1:{port}", catalogue)


def test_missing_file_is_not_retried(served, tmp_path: Path) -> None:
    state, mirror, catalogue = served
    del state.files[f"{TAU}.meta.zip"]
    with pytest.raises(RemixError, match="HTTP 404"):
        _run(["tau2019"], tmp_path, mirror, catalogue)
    assert len(state.requests) == 1


def test_too_little_disk_space_is_refused_before_download(served, tmp_path: Path, monkeypatch) -> None:
    state, mirror, catalogue = served
    monkeypatch.setattr(fetch_mod.shutil, "disk_usage", lambda path: SimpleNamespace(total=10**6, used=0, free=1000))
    with pytest.raises(RemixError, match=r"need about .* GB, but 0\.0 GB is free"):
        _run(["tau2019", "fsd2018"], tmp_path, mirror, catalogue)
    assert state.requests == []


def test_disk_need_accounts_for_keep_and_partial_files(tmp_path: Path) -> None:
    archives = (Archive("a.zip", 1000, None), Archive("b.zip", 3000, None))
    dataset = Dataset("d", "d", 1, archives, ("d", "d"), (), expansion=1.5)
    pending = [(dataset, a) for a in archives]
    assert fetch_mod.disk_need(tmp_path, pending, keep_archives=True) == 6000 + 4000
    assert fetch_mod.disk_need(tmp_path, pending, keep_archives=False) == 6000 + 3000
    (tmp_path / "b.zip.part").write_bytes(b"x" * 2500)
    assert fetch_mod.disk_need(tmp_path, pending, keep_archives=False) == 6000 + 1000


@pytest.mark.parametrize("member", ["../evil.txt", "/abs/evil.txt", "top/../../evil.txt", "c:/evil.txt"])
def test_zip_slip_is_refused(tmp_path: Path, member: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    archive = tmp_path / "bad.zip"
    archive.write_bytes(_zip({"top/ok.txt": b"ok", member: b"evil"}))
    with pytest.raises(RemixError, match="outside"):
        safe_extract(archive, root, top="top")
    assert not (tmp_path / "evil.txt").exists()
    assert [p for p in root.rglob("*") if p.is_file()] == []


def test_unknown_dataset_through_the_cli(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("fetch")(fetch_command)
    app.command("other")(lambda: None)  # keep "fetch" a sub-command
    result = CliRunner().invoke(app, ["fetch", "tau2019", "esc50", "--to", str(tmp_path / "data")])
    assert result.exit_code == 2
    text = result.output + (getattr(result, "stderr", "") or "")
    assert "esc50" in text and "tau2019" in text and "fsd2018" in text
    assert "Traceback" not in text
    assert not (tmp_path / "data").exists()

    bad_md5 = CliRunner().invoke(app, ["fetch", "fsd2018", "--to", str(tmp_path / "data"), "--md5", "x.zip"])
    assert bad_md5.exit_code == 2
    assert "NAME=MD5" in bad_md5.output + (getattr(bad_md5, "stderr", "") or "")


@pytest.mark.parametrize("form", ["folder", "file-url"])
def test_a_mirror_on_a_shared_disk_is_copied_and_verified(tmp_path: Path, form: str) -> None:
    files = _archives()
    shared = tmp_path / "lab share"  # a space: file:// addresses are quoted
    shared.mkdir()
    for name, data in files.items():
        (shared / name).write_bytes(bytes(data))
    mirror = str(shared) if form == "folder" else shared.as_uri()
    result, _ = _run(["tau2019", "fsd2018"], tmp_path / "data", mirror, _catalogue(files))
    assert [o.status for o in result.outcomes] == ["fetched"] * 5
    assert (tmp_path / "data" / TAU / "audio" / "bus-lyon-1-10-a.wav").read_bytes() == _noise(90_000, 2)
    # a part file left by an earlier copy resumes; a missing archive is one line naming it
    part = tmp_path / "one.part"
    name = next(iter(files))
    part.write_bytes(bytes(files[name])[:100])
    assert download(str(shared / name), part, expected_size=len(files[name])) == len(files[name])
    assert part.read_bytes() == bytes(files[name])
    with pytest.raises(RemixError, match="the mirror has no nothing.zip"):
        download(str(shared / "nothing.zip"), tmp_path / "x.part")
