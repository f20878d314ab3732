"""Where one training epoch's time goes, per model and time resolution, on this machine.

For each model and preset, the run's own pieces (its data, model, loss, optimiser, batch order,
validation pass, micro-AP and checkpoint write, as :mod:`bench.training.loop` uses them) are
timed phase by phase over a few epochs after one warm-up epoch:

- ``data``: drawing the next batch (:func:`bench.data.batches`);
- ``forward``, ``loss``, ``backward``, ``optimiser``: one training step, split;
- ``bookkeeping``: the finite-output check and the running loss sums;
- ``validation``: the validation pass (:func:`bench.inference.checkpoint.predict`);
- ``metric``: validation micro-AP;
- ``checkpoint``: writing the resume state (model, optimiser) as ``last.pt`` is written.

The figure of each phase is the median seconds per epoch; ``total`` is their sum. Rows go to
``benchmarks/log.tsv`` (benchmark ``epoch_breakdown``). ``--precisions fp32 bf16`` times each
model in both (bf16: the autocast ``bench run --precision bf16`` trains and validates under,
:func:`bench.device.use_bf16`) and adds the ratio of the totals, fp32 over each other
precision, as rows ``MODEL PRESET speedup PRECISION``; fp32 is the training loop as it was
before bf16 was possible on a CPU. The threads are those of one run of a
``--jobs 2`` grid on this machine unless ``--threads`` says otherwise. Run from the repository
root on a quiet machine (the figures are medians, but two cores shared with other work move them)::

    python benchmarks/epoch_breakdown.py --corpus data/corpus_recorded
    python benchmarks/epoch_breakdown.py --corpus data/corpus_recorded --presets cpu-full cpu-full-32 \\
        --models gap atrous_ap 2ap_aux --epochs 3 --precisions fp32 bf16
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from benchlog import append  # noqa: E402

import models  # noqa: E402
from bench.config import RunConfig  # noqa: E402
from bench.data import batches, epoch_order, load_data  # noqa: E402
from bench.feature_cache import compute_features  # noqa: E402
from bench.inference.checkpoint import predict  # noqa: E402
from bench.presets import get_preset  # noqa: E402
from bench.training.grid import default_threads  # noqa: E402
from bench.training.loop import build_model, micro_ap  # noqa: E402

PHASES = ("data", "forward", "loss", "backward", "optimiser", "bookkeeping", "validation", "metric", "checkpoint")


def epoch_phases(
    model_name: str, preset_name: str, *, corpus: Path, snr: float, epochs: int, amp: bool = False
) -> dict[str, float]:
    """Median seconds per epoch of each phase (and ``total``) for one model under one preset,
    in float32 or (``amp``) under bf16 autocast."""
    preset = get_preset(preset_name)
    fs = compute_features(corpus, snr_db=snr, settings=preset.features, progress=False)
    data = load_data(corpus, snr_db=snr, train_clips=preset.train_clips, seed=0, feature_set=fs)
    config = RunConfig(model=model_name, alpha=models.make_config(model_name).alpha, snr_db=snr, preset=preset)
    _, n_frames, n_mels = data.train.x.shape
    net = build_model(config, preset, n_frames=n_frames, n_mels=n_mels).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=preset.lr)
    device = torch.device("cpu")
    per_epoch: dict[str, list[float]] = defaultdict(list)
    for epoch in range(1, epochs + 2):  # the first is a warm-up
        times = dict.fromkeys(PHASES, 0.0)
        net.train()
        sums = torch.zeros(3, dtype=torch.float64)
        order = epoch_order(len(data.train), seed=0, epoch=epoch)
        stream = iter(batches(data.train, batch_size=preset.batch_size, device=device, order=order))
        while True:
            t0 = time.perf_counter()
            try:
                xb, yb = next(stream)
            except StopIteration:
                break
            t1 = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
                out = net(xb)
            t2 = time.perf_counter()
            finite = bool(torch.isfinite(out["clip_probs"]).all())
            t3 = time.perf_counter()
            losses = models.sed_loss(out, target=yb, features=xb, alpha=config.alpha)
            t4 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            t5 = time.perf_counter()
            opt.step()
            t6 = time.perf_counter()
            sums += torch.stack([losses[k].detach().double() for k in ("loss", "bce", "mse")]) * len(xb)
            t7 = time.perf_counter()
            assert finite
            times["data"] += t1 - t0
            times["forward"] += t2 - t1
            times["bookkeeping"] += (t3 - t2) + (t7 - t6)
            times["loss"] += t4 - t3
            times["backward"] += t5 - t4
            times["optimiser"] += t6 - t5
        t0 = time.perf_counter()
        probs, _ = predict(net, data.val, device=device, batch_size=preset.eval_batch_size, amp=amp)
        t1 = time.perf_counter()
        micro_ap(data.val.y.cpu().numpy(), probs)
        t2 = time.perf_counter()
        torch.save({"model": net.state_dict(), "optimizer": opt.state_dict()}, io.BytesIO())
        t3 = time.perf_counter()
        times["validation"], times["metric"], times["checkpoint"] = t1 - t0, t2 - t1, t3 - t2
        if epoch > 1:
            for phase, seconds in times.items():
                per_epoch[phase].append(seconds)
    out = {phase: statistics.median(per_epoch[phase]) for phase in PHASES}
    out["total"] = sum(out.values())
    out["frames"], out["train_clips"] = float(n_frames), float(len(data.train))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus_recorded"))
    parser.add_argument("--snr", type=float, default=20.0)
    parser.add_argument("--models", nargs="+", default=["gap", "atrous_ap", "2ap_aux"])
    parser.add_argument("--presets", nargs="+", default=["cpu-full", "cpu-full-32"])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up epoch)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: one run of --jobs 2)")
    parser.add_argument(
        "--precisions", nargs="+", choices=("fp32", "bf16"), default=["fp32"], help="float32 and/or bf16 autocast"
    )
    parser.add_argument("--no-log", action="store_true", help="print only; append nothing to benchmarks/log.tsv")
    args = parser.parse_args()
    threads = args.threads or default_threads(2)
    torch.set_num_threads(threads)
    print(f"threads {threads}, {args.epochs} timed epoch(s) after 1 warm-up, corpus {args.corpus}, {args.snr:g} dB")
    print(f"{'model':10s} {'preset':12s} {'prec':4s} " + " ".join(f"{p[:9]:>9s}" for p in (*PHASES, "total")))
    for preset in args.presets:
        for name in args.models:
            totals = {}
            for precision in args.precisions:
                phases = epoch_phases(
                    name, preset, corpus=args.corpus, snr=args.snr, epochs=args.epochs, amp=precision == "bf16"
                )
                totals[precision] = phases["total"]
                print(
                    f"{name:10s} {preset:12s} {precision:4s} "
                    + " ".join(f"{phases[p]:9.2f}" for p in (*PHASES, "total"))
                )
                settings = {
                    "model": name,
                    "preset": preset,
                    "precision": precision,
                    "frames": int(phases["frames"]),
                    "train_clips": int(phases["train_clips"]),
                    "threads": threads,
                    "epochs": args.epochs,
                    "torch": torch.__version__,
                }
                for phase in (*PHASES, "total"):
                    if not args.no_log:
                        append(
                            benchmark="epoch_breakdown",
                            figure=f"{name} {preset} {phase}" + ("" if precision == "fp32" else f" ({precision})"),
                            value=round(phases[phase], 4),
                            unit="s/epoch",
                            settings=settings,
                        )
            for precision, total in totals.items():
                if precision == "fp32" or "fp32" not in totals:
                    continue
                ratio = totals["fp32"] / total
                print(f"{name:10s} {preset:12s} epoch {ratio:.2f}x faster in {precision} than in fp32")
                if not args.no_log:
                    append(
                        benchmark="epoch_breakdown",
                        figure=f"{name} {preset} speedup {precision}",
                        value=round(ratio, 3),
                        unit="x",
                        settings={**settings, "precision": f"fp32/{precision}"},
                    )


if __name__ == "__main__":
    main()
