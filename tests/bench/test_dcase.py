"""DCASE files and metrics: what the files hold, and agreement with sed_eval and
sed_scores_eval computed independently from those files."""

from __future__ import annotations

import json

import dcase_util  # installed with sed_scores_eval (through sed_eval)
import numpy as np
import pandas as pd
import pytest
import sed_eval

from bench.errors import BenchError
from bench.evaluation.dcase import dcase_metrics, psds_values
from bench.evaluation.formats import audio_filenames, ground_truth_table, read_dcase_files
from bench.evaluation.metrics import clip_metrics, event_f1, frame_targets
from bench.evaluation.postprocess import PostProcessing, load_postprocessing
from bench.evaluation.run import evaluate_split, relocalise_run
from bench.evaluation.sse import COLLAR, PSDS1, PSDS2, import_sed_scores_eval
from bench.store import RunStore, load_runs
from remix.labels import EVENT_LABELS
from tests.event_helpers import random_events

HOP = 0.125  # exact in binary: sed_eval turns times into frames without a tolerance
LABELS = ["alpha", "beta", "gamma", "delta", "absent"]  # "absent" never has a reference event


@pytest.fixture(scope="module")
def split():
    """12 clips of 10 s, 80 frames of 0.125 s; two events per clip among the first four
    labels; frame outputs = noisy targets; clip outputs that tag the true classes."""
    rng = np.random.default_rng(3)
    n, t = 12, 80
    ids = [f"clip{i:02d}" for i in range(n)]
    # the last clip without events
    events = random_events(rng, ids, LABELS, draw=lambda i: rng.choice(4, size=2, replace=False) if i < n - 1 else [])
    truth = frame_targets(events, ids, n_frames=t, hop_s=HOP, labels=LABELS)
    frame = np.clip(truth * 0.7 + rng.normal(0.15, 0.2, truth.shape), 0, 1).astype(np.float16)
    clip = np.clip(truth.any(axis=1) * 0.6 + rng.uniform(0, 0.5, (n, len(LABELS))), 0, 1).astype(np.float32)
    return dict(ids=ids, events=events, frame=frame, clip=clip, filenames=[f"{c}.flac" for c in ids])


POST = PostProcessing(
    thresholds=(0.3, 0.35, 0.4, 0.3, 0.3), hop_s=HOP, frame_start_s=0.0, clip_threshold=0.5, median_filter_s=0.3
)


@pytest.fixture(scope="module")
def scored(split, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dcase") / "val"
    out = evaluate_split(
        split["frame"],
        split["clip"],
        post=POST,
        clip_ids=split["ids"],
        filenames=split["filenames"],
        events=split["events"],
        labels=LABELS,
        duration_s=10.0,
        folder=folder,
    )
    return out, folder


def _container(table: pd.DataFrame):
    return dcase_util.containers.MetaDataContainer(
        [
            dict(filename=f, event_label=lab, onset=float(on), offset=float(off))
            for f, on, off, lab in table[["filename", "onset", "offset", "event_label"]].itertuples(index=False)
            if isinstance(lab, str)
        ]
    )


def test_files_are_what_dcase_tools_read(scored, split):
    out, folder = scored
    files = read_dcase_files(folder)
    assert sorted(files["scores"]) == split["ids"]
    first = files["scores"]["clip00"]
    assert list(first.columns) == ["onset", "offset", *LABELS] and len(first) == 80
    assert first["onset"].iloc[1] == pytest.approx(HOP) and first["offset"].iloc[-1] == pytest.approx(10.0)
    assert files["ground_truth"]["clip11"] == []  # the clip without events is listed, empty
    assert sum(len(v) for v in files["ground_truth"].values()) == len(split["events"]) == out["n_ref"]
    assert set(files["durations"].values()) == {10.0}
    detections = files["detections"]
    assert list(detections.columns) == ["filename", "onset", "offset", "event_label"]
    assert len(detections) == out["n_detections"] > 0
    assert out["classes_left_out"] == ["absent"] and out["n_classes_scored"] == 4


def test_psds_from_the_files_equals_the_reported_psds(scored):
    out, folder = scored
    sse = import_sed_scores_eval()
    files = read_dcase_files(folder)
    present = ["alpha", "beta", "gamma", "delta"]
    scores = {k: v[["onset", "offset", *present]] for k, v in files["scores"].items()}
    for name, scenario in (("psds1", PSDS1), ("psds2", PSDS2)):
        value, *_ = sse.intersection_based.psds(scores, files["ground_truth"], files["durations"], **scenario)
        assert out[name] == pytest.approx(value, abs=1e-12)
        assert 0.0 < out[name] <= 1.0
    assert out["psds1"] != out["psds2"]


@pytest.mark.parametrize("num_jobs", [1, 2])
def test_statistics_in_blocks_and_processes_equal_the_plain_calls_exactly(scored, monkeypatch, num_jobs):
    _, folder = scored
    sse = import_sed_scores_eval()
    files = read_dcase_files(folder)
    present = ["alpha", "beta", "gamma", "delta"]
    scores = {k: v[["onset", "offset", *present]] for k, v in files["scores"].items()}
    plain = [
        float(sse.intersection_based.psds(scores, files["ground_truth"], files["durations"], **s)[0])
        for s in (PSDS1, PSDS2)
    ]
    threshold = dict.fromkeys(present, 0.35)
    collar = sse.collar_based.fscore(scores, files["ground_truth"], threshold, **COLLAR)
    segment = sse.segment_based.fscore(scores, files["ground_truth"], files["durations"], threshold, segment_length=1.0)
    # 12 clips: blocks of 5, 5 and 2 (or 3 x 4 with 2 jobs)
    monkeypatch.setattr("bench.evaluation.statistics._SHARD_CLIPS", 5)
    got = psds_values(scores, files["ground_truth"], files["durations"], num_jobs=num_jobs)
    assert got == plain and 0.0 < min(got)
    out = dcase_metrics(scores, files["ground_truth"], files["durations"], thresholds=threshold, num_jobs=num_jobs)
    assert [out["psds1"], out["psds2"]] == plain
    assert (out["event_f1"], out["event_macro_f1"]) == (collar[0]["micro_average"], collar[0]["macro_average"])
    assert (out["segment_f1"], out["segment_recall"]) == (segment[0]["micro_average"], segment[2]["micro_average"])
    assert 0.0 < out["event_f1"] < 1.0 and 0.0 < out["segment_f1"] < 1.0
    with pytest.raises(BenchError, match="num_jobs"):
        psds_values(scores, files["ground_truth"], files["durations"], num_jobs=0)


def test_statistics_from_threads_of_one_process_do_not_mix(scored, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    _, folder = scored
    files = read_dcase_files(folder)
    present = ["alpha", "beta", "gamma", "delta"]
    scores = {k: v[["onset", "offset", *present]] for k, v in files["scores"].items()}
    subsets = [dict(list(scores.items())[:6]), scores]  # two different splits at once
    monkeypatch.setattr("bench.evaluation.statistics._SHARD_CLIPS", 3)

    def of(sub, key):  # sed_scores_eval wants the ground truth and durations of exactly the scored clips
        return {cid: files[key][cid] for cid in sub}

    alone = [psds_values(sub, of(sub, "ground_truth"), of(sub, "durations"), num_jobs=1) for sub in subsets]
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = list(
            pool.map(
                lambda sub: psds_values(sub, of(sub, "ground_truth"), of(sub, "durations"), num_jobs=2), subsets * 2
            )
        )
    assert together == alone * 2 and alone[0] != alone[1]


def test_event_f1_agrees_with_sed_eval_and_with_the_detections(scored, split):
    out, folder = scored
    files = read_dcase_files(folder)
    present = ["alpha", "beta", "gamma", "delta"]
    reference = _container(ground_truth_table(split["events"], split["ids"], filenames=split["filenames"]))
    detections = files["detections"][files["detections"]["event_label"].isin(present)]
    estimated = _container(detections)
    metric = sed_eval.sound_event.EventBasedMetrics(event_label_list=present, t_collar=0.2, percentage_of_length=0.2)
    segments = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=present, time_resolution=1.0)
    for filename in split["filenames"]:
        ref, est = reference.filter(filename=filename), estimated.filter(filename=filename)
        metric.evaluate(reference_event_list=ref, estimated_event_list=est)
        segments.evaluate(reference_event_list=ref, estimated_event_list=est)
    assert out["event_f1"] == pytest.approx(metric.results_overall_metrics()["f_measure"]["f_measure"], abs=1e-12)
    assert out["segment_f1"] == pytest.approx(segments.results_overall_metrics()["f_measure"]["f_measure"], abs=1e-12)
    ours = event_f1(
        split["events"],
        detections.rename(columns={"filename": "clip_id", "onset": "onset_s", "offset": "offset_s"}).assign(
            clip_id=lambda d: d["clip_id"].str.replace(".flac", "")
        ),
        labels=present,
    )
    assert ours["f1"] == pytest.approx(out["event_f1"], abs=1e-12)
    assert 0.2 < out["event_f1"] < 1.0  # a case that can fail either way


def test_frame_f1_agrees_with_sed_eval_at_the_frame_resolution(scored, split):
    out, folder = scored
    files = read_dcase_files(folder)
    reference = _container(ground_truth_table(split["events"], split["ids"], filenames=split["filenames"]))
    frames = sed_eval.sound_event.SegmentBasedMetrics(event_label_list=LABELS, time_resolution=HOP)
    for filename in split["filenames"]:
        frames.evaluate(
            reference_event_list=reference.filter(filename=filename),
            estimated_event_list=_container(files["detections"]).filter(filename=filename),
        )
    assert out["frame_f1"] == pytest.approx(frames.results_overall_metrics()["f_measure"]["f_measure"], abs=1e-9)


def test_no_reference_event_at_all_gives_none_not_a_crash(split):
    table = ground_truth_table(split["events"].iloc[:0], split["ids"], filenames=split["filenames"])
    assert table["event_label"].isna().all() and len(table) == len(split["ids"])
    scores = {cid: pd.DataFrame({"onset": [0.0], "offset": [1.0], "a": [0.5]}) for cid in split["ids"]}
    out = dcase_metrics(
        scores, {cid: [] for cid in split["ids"]}, {cid: 10.0 for cid in split["ids"]}, thresholds={"a": 0.5}
    )
    assert out["psds1"] is None and out["event_f1"] is None and out["classes_left_out"] == ["a"]


def test_audio_filenames_follow_the_corpus(fabricated_corpus):
    clips = pd.read_parquet(fabricated_corpus / "manifest" / "clips.parquet")
    ids = clips["clip_id"].unique()[:2].tolist()
    assert audio_filenames(clips, ids, snr_db=20.0) == [f"{c}.flac" for c in ids]
    assert audio_filenames(clips, ["other"]) == ["other.wav"]
    with pytest.raises(BenchError, match="dot"):
        audio_filenames(clips, ["a.b"])


def test_relocalise_a_stored_run_keeps_its_training_record_and_scores_it_again(fabricated_corpus, tmp_path):
    clips = pd.read_parquet(fabricated_corpus / "manifest" / "clips.parquet")
    events = pd.read_parquet(fabricated_corpus / "manifest" / "events.parquet")
    store = RunStore(tmp_path / "runs", "r1")
    settings = {
        "sample_rate": 32000,
        "n_fft": 2048,
        "hop_length": 4096,
        "n_mels": 16,
        "fmin": 50.0,
        "fmax": None,
        "log_offset": 1e-8,
        "center": False,
    }
    store.write_config(
        {
            "model": "2ap",
            "alpha": 0.0,
            "snr_db": 20.0,
            "seed": 0,
            "preset": "cpu",
            "corpus_dir": str(fabricated_corpus),
            "features": settings,
        }
    )
    store.write_status("done")
    rng = np.random.default_rng(0)
    old = {"best_epoch": 2}
    at20 = clips[clips["snr_db"] == 20.0]
    for split, rows in (("val", at20[at20["fold"] == 4]), ("test", at20[at20["split"] == "test"])):
        ids = rows["clip_id"].tolist()
        truth = frame_targets(events, ids, n_frames=78, hop_s=0.128, labels=EVENT_LABELS, snr_db=20.0, start_s=-0.032)
        y = truth.any(axis=1).astype(int)
        probs = np.clip(y * 0.8 + rng.uniform(0, 0.2, y.shape), 0, 1)
        store.write_predictions(ids, split=split, y_true=y, y_score=probs, labels=EVENT_LABELS)
        store.write_frame_probs(split, np.clip(truth * 0.9 + rng.uniform(0, 0.1, truth.shape), 0, 1))
        old[split] = {"micro_ap": 0.5, "event": {"f1": 0.1}}
    store.write_metrics(old)
    metrics = relocalise_run(store.path)
    assert metrics["best_epoch"] == 2  # what describes the training is kept
    ids, y_true, probs = store.prediction_arrays("val", labels=EVENT_LABELS)
    expected = clip_metrics(y_true, probs, labels=EVENT_LABELS)["micro_ap"]
    assert metrics["val"]["micro_ap"] == expected != 0.5  # the split scored again from its stored outputs
    assert json.loads((store.path / "metrics.json").read_text())["val"]["micro_ap"] == expected
    post = load_postprocessing(store.path)
    assert post is not None and post.hop_s == 0.128 and post.frame_start_s == -0.032
    assert metrics["postprocessing"] == json.loads((store.path / "postprocess.json").read_text())
    assert metrics["dcase_settings"]["psds1"]["dtc_threshold"] == 0.7
    for split in ("val", "test"):
        loc = metrics[split]["localisation"]
        assert loc["event_f1"] > 0.5 and loc["psds1"] > 0.1 and len(loc["classes_left_out"]) > 20
        assert (store.path / "dcase" / split / "detections.tsv").is_file()
    row = load_runs(tmp_path).iloc[0]
    assert row["val_localisation_psds1"] == metrics["val"]["localisation"]["psds1"]


def test_a_perfect_detector_scores_one_and_a_single_class_no_psds():
    """Single-column frames: pandas 3 hands sed_scores_eval read-only arrays (see import_sed_scores_eval)."""
    timestamps = np.arange(11) * 1.0
    truth = {"c0": [(2.0, 5.0, "a"), (1.0, 4.0, "b")], "c1": [(0.0, 3.0, "a"), (6.0, 9.0, "a")]}
    scores = {}
    for cid, events in truth.items():
        on = {"a": np.zeros(10), "b": np.zeros(10)}
        for start, stop, label in events:
            on[label][int(start) : int(stop)] = 1.0
        scores[cid] = pd.DataFrame({"onset": timestamps[:-1], "offset": timestamps[1:], **on})
    durations = {"c0": 10.0, "c1": 10.0}
    out = dcase_metrics(scores, truth, durations, thresholds={"a": 0.5, "b": 0.5})
    assert out["psds1"] == pytest.approx(1.0) and out["psds2"] == pytest.approx(1.0)
    assert out["event_f1"] == 1.0 and out["segment_f1"] == 1.0 and out["classes_left_out"] == []
    only_a = {cid: [e for e in events if e[2] == "a"] for cid, events in truth.items()}
    single = dcase_metrics(
        {k: v[["onset", "offset", "a"]] for k, v in scores.items()}, only_a, durations, thresholds={"a": 0.5}
    )
    assert single["psds1"] is None and single["event_f1"] == 1.0 and single["n_classes_scored"] == 1


def test_a_trained_run_writes_its_postprocessing_dcase_files_and_metrics(tiny_corpus, tmp_path):
    from bench.config import RunConfig
    from bench.presets import Preset
    from bench.training.loop import train_run

    preset = Preset(name="tiny1", epochs=1, width=0.0625, train_clips=8, eval_batch_size=32)
    config = RunConfig(model="2ap", alpha=0.0, snr_db=20.0, seed=0, preset=preset)
    metrics = train_run(config, corpus_dir=tiny_corpus, results_dir=tmp_path, device="cpu")
    store = RunStore(tmp_path / "runs", config.run_id)
    post = json.loads((store.path / "postprocess.json").read_text())
    assert post["frame_score"] == "frame_x_clip" and post["clip_gate"] is True and post["chosen_on"] == "val"
    assert len(post["thresholds"]) == 41 and post["criterion"] == "event_f1"
    assert post["hop_s"] == 0.032 and post["frame_start_s"] == 0.016
    for split in ("val", "test"):
        folder = store.path / "dcase" / split
        assert len(list((folder / "scores").glob("*.tsv"))) == store.read_config()[f"n_{split}"]
        loc = metrics[split]["localisation"]
        files = read_dcase_files(folder)
        assert len(files["detections"]) == loc["n_detections"]
        present = [c for c in EVENT_LABELS if c not in loc["classes_left_out"]]
        again = dcase_metrics(
            {k: v[["onset", "offset", *present]] for k, v in files["scores"].items()},
            files["ground_truth"],
            files["durations"],
            thresholds=dict(zip(EVENT_LABELS, post["thresholds"])),
        )
        for key in ("psds1", "psds2", "event_f1", "segment_f1", "psds1_non_oracle", "segment_pauc"):
            assert again[key] == loc[key]
        # non-oracle PSDS1 and the segment pAUCs as sed_scores_eval gives them from the score files
        sse = import_sed_scores_eval()
        present_scores = {k: v[["onset", "offset", *present]] for k, v in files["scores"].items()}
        truth, durations = files["ground_truth"], files["durations"]
        direct = sse.intersection_based.psds(present_scores, truth, durations, non_oracle=True, **PSDS1)[0]
        assert loc["psds1_non_oracle"] == pytest.approx(direct, abs=1e-6)
        for key, mcclish in (("segment_pauc", False), ("segment_pauc_mcclish", True)):
            auroc = sse.segment_based.auroc(
                present_scores, truth, durations, segment_length=1.0, max_fpr=0.1, mcclish_correction=mcclish
            )[0]
            assert loc[key] == pytest.approx(auroc["mean"], abs=1e-6), key
    assert {"micro_ap", "frame", "event"} <= set(metrics["val"])  # the earlier keys stay
    assert store.read_metrics()["postprocessing"] == post
    # every metric of the catalogue is where the catalogue says: its column, and its replicates
    from bench.evaluation.catalogue import CATALOGUE, column_of
    from bench.reporting.intervals import run_replicates
    from bench.store import load_runs

    row = load_runs(tmp_path).iloc[0]
    replicates = run_replicates(store.path, split="val")
    for metric in CATALOGUE:
        assert column_of(metric.name, split="val") in row.index, metric.name
        assert metric.name in replicates and len(replicates[metric.name]) > 0, metric.name


def test_the_installed_sed_scores_eval_has_non_oracle_psds_and_mcclish_pauc(monkeypatch):
    from bench.evaluation import sse as sse_module
    from bench.evaluation.sse import check_features

    check_features()  # the project's dependency (sed-scores-eval-np2 0.0.4) has both
    sse = import_sed_scores_eval()

    def old_psds(scores, ground_truth, audio_durations, *, deltas=None, dtc_threshold, gtc_threshold):
        return 0.0

    monkeypatch.setattr(sse.intersection_based, "psds", old_psds)  # the PyPI sed_scores_eval 0.0.4's signature
    with pytest.raises(BenchError, match="non-oracle PSDS.*sed-scores-eval-np2"):
        sse_module.check_features()
