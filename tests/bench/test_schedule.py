"""Learning-rate schedules, early stopping and the convergence record of a run."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from bench.config import RunConfig
from bench.presets import Preset
from bench.store import RunStore
from bench.training.loop import RunFailed, train_run
from bench.training.schedule import Schedule, make_scheduler, schedule_for


def _lrs(preset: Preset, steps_per_epoch: int, *, cycle: int = 0) -> list[float]:
    """The learning rate at each step of schedule cycle ``cycle`` (0: the schedule, k: its k-th restart)."""
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=preset.lr)
    sched = make_scheduler(opt, preset, steps_per_epoch=steps_per_epoch)
    if cycle:
        sched = schedule_for(preset).build_cycle(opt, preset, steps_per_epoch=steps_per_epoch, cycle=cycle)
    out = []
    for _ in range((preset.restart_epochs if cycle else preset.epochs) * steps_per_epoch):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_cosine_schedule_warms_up_then_decays_to_the_floor():
    p = Preset(name="c", epochs=10, width=0.1, lr=1e-2, schedule="cosine", warmup_epochs=2, lr_min_ratio=0.1)
    lrs = _lrs(p, steps_per_epoch=5)
    assert lrs[0] == pytest.approx(1e-2 / 10)  # first of the 10 warm-up steps
    assert lrs[9] == pytest.approx(1e-2)  # warm-up reaches the peak at its last step
    assert lrs[10] == pytest.approx(1e-2)  # the decay starts from the peak
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # then never rises
    assert lrs[-1] == pytest.approx(1e-3)  # and ends at lr_min_ratio * lr
    mid = 10 + (len(lrs) - 10 - 1) // 2
    assert lrs[mid] == pytest.approx(1e-3 + 0.5 * 9e-3, rel=0.05)


def test_a_restart_cycle_warms_up_to_its_lower_peak_then_decays_over_its_own_epochs():
    p = Preset(
        name="r",
        epochs=10,
        width=0.1,
        lr=1e-2,
        schedule="cosine",
        warmup_epochs=1,
        restarts=1,
        restart_epochs=4,
        restart_lr_ratio=0.5,
    )
    lrs = _lrs(p, steps_per_epoch=2, cycle=1)
    assert lrs[0] == pytest.approx(5e-3 / 2) and lrs[1] == pytest.approx(5e-3)  # 2 warm-up steps to lr x 0.5
    assert all(a >= b for a, b in zip(lrs[1:], lrs[2:])) and lrs[-1] == pytest.approx(0.0)  # decay over 4 epochs


def test_plateau_schedule_is_the_papers():
    p = Preset(name="p", epochs=3, width=0.1)
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=p.lr)
    assert isinstance(make_scheduler(opt, p, steps_per_epoch=4), torch.optim.lr_scheduler.ReduceLROnPlateau)


TINY = Preset(
    name="tiny-es",
    epochs=12,
    width=0.0625,
    train_clips=8,
    eval_batch_size=32,
    lr=1e-5,
    schedule="cosine",
    warmup_epochs=1,
    early_stop=2,
)


@pytest.fixture(scope="module")
def stopped(tiny_corpus, tmp_path_factory):
    results = tmp_path_factory.mktemp("early")
    config = RunConfig(model="gap", alpha=0.0, snr_db=20.0, seed=3, preset=TINY)
    epochs = []
    metrics = train_run(
        config,
        corpus_dir=tiny_corpus,
        results_dir=results,
        device="cpu",
        callback=lambda e: epochs.append((e["epoch"], e["val_micro_ap"], e["stopped"])),
    )
    return RunStore(results / "runs", config.run_id), metrics, epochs, config


def test_early_stopping_ends_the_run_once_validation_stops_improving(stopped):
    store, metrics, epochs, _ = stopped
    best = max(range(len(epochs)), key=lambda k: (epochs[k][1], -k))  # first epoch with the best score
    best_epoch = epochs[best][0]
    assert metrics["best_epoch"] == best_epoch
    # the run ends exactly early_stop epochs after its best one (or at the schedule's end)
    assert epochs[-1][0] == min(best_epoch + TINY.early_stop, TINY.epochs)
    assert epochs[-1][2] == (epochs[-1][0] < TINY.epochs)
    assert store.read_curves()["epoch"].tolist() == [e for e, _, _ in epochs]


def test_metrics_record_convergence(stopped):
    _, metrics, epochs, _ = stopped
    conv = metrics["convergence"]
    assert conv["epochs"] == TINY.epochs and conv["epochs_run"] == len(epochs)
    assert conv["best_epoch"] == metrics["best_epoch"]
    assert conv["stopped_early"] == (len(epochs) < TINY.epochs)
    assert conv == TINY.convergence([ap for _, ap, _ in epochs], chance=conv["chance"])
    assert conv["chance"] == pytest.approx(3 / 41, abs=0.02)  # the validation fold's label prior
    assert conv["at_chance"] == (max(ap for _, ap, _ in epochs) - conv["chance"] < 0.1 * (1 - conv["chance"]))


def test_a_stopped_run_is_not_trained_again_on_resume(stopped, tiny_corpus):
    store, metrics, _, config = stopped
    assert metrics["convergence"]["stopped_early"]  # lr 1e-5: validation stalls within 12 epochs
    seen = []
    train_run(
        config,
        corpus_dir=tiny_corpus,
        results_dir=store.path.parent.parent,
        device="cpu",
        callback=lambda e: seen.append(e["epoch"]),
    )
    assert seen == []


def test_cosine_run_resumes_to_the_same_curve(tiny_corpus, tmp_path):
    preset = dataclasses.replace(TINY, name="tiny-cos", epochs=3, early_stop=None, lr=1e-3)
    config = RunConfig(model="gap", alpha=0.0, snr_db=20.0, seed=4, preset=preset)

    def stop(event):
        if event["epoch"] == 2:
            raise KeyError("stop")

    with pytest.raises(RunFailed):
        train_run(config, corpus_dir=tiny_corpus, results_dir=tmp_path / "a", device="cpu", callback=stop)
    train_run(config, corpus_dir=tiny_corpus, results_dir=tmp_path / "a", device="cpu")
    train_run(config, corpus_dir=tiny_corpus, results_dir=tmp_path / "b", device="cpu")
    a = RunStore(tmp_path / "a" / "runs", config.run_id).read_curves()
    b = RunStore(tmp_path / "b" / "runs", config.run_id).read_curves()
    assert a["lr"].tolist() == pytest.approx(b["lr"].tolist())
    assert a["val_micro_ap"].tolist() == pytest.approx(b["val_micro_ap"].tolist(), rel=1e-5)
    assert not math.isclose(a["lr"].iloc[0], a["lr"].iloc[-1])


class Constant(Schedule):
    """A schedule of the test's own: the learning rate never changes."""

    name = "constant"

    def build(self, opt, preset, *, steps_per_epoch):
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)

    def after_batch(self, scheduler):
        scheduler.step()

    def describe(self, preset):
        return f"constant lr {preset.lr:g}"


def test_a_custom_preset_and_schedule_train_without_registering_anything(tiny_corpus, tmp_path):
    from bench.presets import PRESETS
    from bench.training.schedule import SCHEDULES

    before = (dict(PRESETS), dict(SCHEDULES))
    mine = Preset(name="mine", epochs=2, width=0.0625, train_clips=8, eval_batch_size=32, lr=3e-3)
    config = RunConfig(model="gap", alpha=0.0, snr_db=0.0, seed=4, preset=mine)
    metrics = train_run(config, corpus_dir=tiny_corpus, results_dir=tmp_path, device="cpu", schedule=Constant())
    store = RunStore(tmp_path / "runs", config.run_id)
    assert metrics["convergence"]["epochs_run"] == 2
    assert store.read_config()["training"]["scheduler"] == "constant lr 0.003"
    assert store.read_curves()["lr"].tolist() == [3e-3, 3e-3]
    assert (dict(PRESETS), dict(SCHEDULES)) == before  # nothing was registered


RESTARTS = dataclasses.replace(
    TINY, name="tiny-restart", epochs=3, early_stop=None, lr=1e-3, restarts=2, restart_epochs=2
)


@pytest.fixture()
def never_levels_off(monkeypatch):
    """No run counts as levelled off by its tail's gain: every cycle end takes a restart while one is left."""
    monkeypatch.setattr("bench.presets.CONVERGENCE_GAIN", -1.0)  # no gain is below it


def _curves(results, config, *, preset, corpus, **kwargs):
    config = dataclasses.replace(config, preset=preset)
    metrics = train_run(config, corpus_dir=corpus, results_dir=results, device="cpu", **kwargs)
    return metrics, RunStore(results / "runs", config.run_id).read_curves()


def test_a_run_still_rising_at_the_end_of_its_schedule_takes_its_restarts(never_levels_off, tiny_corpus, tmp_path):
    config = RunConfig(model="gap", alpha=0.0, snr_db=20.0, seed=5, preset=RESTARTS)
    metrics, curves = _curves(tmp_path, config, preset=RESTARTS, corpus=tiny_corpus)
    assert curves["epoch"].tolist() == list(range(1, RESTARTS.max_epochs + 1))
    conv = metrics["convergence"]
    assert (conv["cycles"], conv["epochs"], conv["converged"]) == (3, 7, False)
    # one step an epoch: the cosine's 3 epochs (1 of warm-up) end at 0; each 2-epoch restart
    # warms up to half the peak in its first step and starts its decay from there
    assert curves["lr"].tolist() == pytest.approx([1e-3, 1e-3, 0.0, 5e-4, 5e-4, 5e-4, 5e-4])
    assert (
        RunStore(tmp_path / "runs", config.run_id)
        .read_config()["training"]["restarts_rule"]
        .startswith("a run still rising")
    )


def test_a_finished_run_is_taken_up_where_it_ended_exactly_as_if_it_had_never_stopped(
    never_levels_off, tiny_corpus, tmp_path
):
    from bench.corpus import corpus_fingerprint
    from bench.data import read_clips
    from bench.training.grid import _is_done

    config = RunConfig(model="gap", alpha=0.0, snr_db=20.0, seed=6, preset=RESTARTS)
    without = dataclasses.replace(RESTARTS, restarts=0)
    assert without.key() == RESTARTS.key()  # the same run id either way
    _curves(tmp_path / "a", config, preset=without, corpus=tiny_corpus)
    fingerprint = corpus_fingerprint(read_clips(tiny_corpus))
    assert _is_done(tmp_path / "a", dataclasses.replace(config, preset=without), corpus=fingerprint)
    assert not _is_done(tmp_path / "a", config, corpus=fingerprint)  # still rising: go on

    def stop(event):  # a kill inside the first restart
        if event["epoch"] == 4:
            raise KeyError("stop")

    with pytest.raises(RunFailed):
        _curves(tmp_path / "a", config, preset=RESTARTS, corpus=tiny_corpus, callback=stop)
    _, taken_up = _curves(tmp_path / "a", config, preset=RESTARTS, corpus=tiny_corpus)
    _, straight = _curves(tmp_path / "b", config, preset=RESTARTS, corpus=tiny_corpus)
    assert taken_up["epoch"].tolist() == straight["epoch"].tolist() == list(range(1, 8))
    assert taken_up["lr"].tolist() == pytest.approx(straight["lr"].tolist())
    assert taken_up["val_micro_ap"].tolist() == pytest.approx(straight["val_micro_ap"].tolist(), rel=1e-5)
    assert _is_done(tmp_path / "a", config, corpus=fingerprint)  # no restart left


def test_a_run_that_levelled_off_takes_no_restart(tiny_corpus, tmp_path):
    config = RunConfig(model="gap", alpha=0.0, snr_db=20.0, seed=3, preset=TINY)
    metrics, curves = _curves(
        tmp_path, config, preset=dataclasses.replace(TINY, restarts=2, restart_epochs=4), corpus=tiny_corpus
    )
    assert metrics["convergence"]["stopped_early"] and metrics["convergence"]["cycles"] == 1
    assert len(curves) < TINY.epochs
