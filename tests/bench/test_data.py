"""Folds, splits, weak labels and batches over cached features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.data import batches, epoch_order, load_data, make_split, read_clips, weak_labels
from bench.errors import BenchError
from remix.labels import EVENT_LABELS


@pytest.fixture(scope="module")
def clips(tiny_corpus):
    return read_clips(tiny_corpus)


@pytest.mark.parametrize("val_fold", [1, 2, 3, 4])
def test_split_keeps_validation_out_of_training(clips, val_fold):
    split = make_split(clips, snr_db=0, val_fold=val_fold)
    at0 = clips[clips["snr_db"] == 0].set_index("clip_id")
    assert not set(split.train) & set(split.val)
    assert not set(split.test) & (set(split.train) | set(split.val))
    assert {int(at0.at[c, "fold"]) for c in split.val} == {val_fold}
    assert val_fold not in {int(at0.at[c, "fold"]) for c in split.train}
    assert {at0.at[c, "split"] for c in split.test} <= {"test"}
    assert len(split.train) + len(split.val) == int((at0["split"] == "dev").sum())


def test_subset_is_deterministic_in_the_seed(clips):
    full = make_split(clips, snr_db=0)
    a = make_split(clips, snr_db=0, train_clips=5, seed=1)
    b = make_split(clips, snr_db=0, train_clips=5, seed=1)
    c = make_split(clips, snr_db=0, train_clips=5, seed=2)
    assert a == b and len(a.train) == 5 and set(a.train) <= set(full.train)
    assert a.train != c.train
    assert a.val == full.val  # only training clips are subset


def test_unknown_fold_and_snr_are_user_errors(clips):
    with pytest.raises(BenchError, match="fold 7"):
        make_split(clips, snr_db=0, val_fold=7)
    with pytest.raises(BenchError, match=r"has 0, 20 dB"):
        make_split(clips, snr_db=5)


def test_weak_labels_follow_the_manifest(clips):
    at0 = clips[clips["snr_db"] == 0]
    ids = at0["clip_id"].tolist()[:4]
    y = weak_labels(clips, ids, snr_db=0)
    assert y.shape == (4, len(EVENT_LABELS)) and y.dtype == np.float32
    for row, cid in zip(y, ids):
        labels = at0.loc[at0["clip_id"] == cid, "labels"].iloc[0]
        assert {EVENT_LABELS[i] for i in np.flatnonzero(row)} == set(labels)


def test_load_data_standardises_with_training_clips_only(tiny_corpus):
    data = load_data(tiny_corpus, snr_db=20, val_fold=4)
    x = data.train.x.numpy()
    assert np.allclose(x.reshape(-1, x.shape[-1]).mean(axis=0), 0, atol=1e-3)
    assert np.allclose(x.reshape(-1, x.shape[-1]).std(axis=0), 1, atol=1e-2)
    # validation statistics were not used: its mean is not forced to zero
    v = data.val.x.numpy().reshape(-1, x.shape[-1])
    assert np.abs(v.mean(axis=0)).max() > 1e-3
    assert data.test is not None and len(data.test) == len(data.split.test)
    assert data.train.y.shape == (len(data.split.train), len(EVENT_LABELS))


def test_epoch_order_depends_on_seed_and_epoch_only():
    a = epoch_order(20, seed=3, epoch=2)
    assert np.array_equal(a, epoch_order(20, seed=3, epoch=2))
    assert not np.array_equal(a, epoch_order(20, seed=3, epoch=3))
    assert not np.array_equal(a, epoch_order(20, seed=4, epoch=2))
    assert sorted(a) == list(range(20))


def test_batches_follow_the_order():
    from bench.data import ClipSet

    x = torch.arange(10, dtype=torch.float32).reshape(10, 1, 1)
    data = ClipSet(tuple(str(i) for i in range(10)), x, x[:, 0, :].clone())
    order = np.array([9, 0, 8, 1, 7, 2, 6, 3, 5, 4])
    got = [xb[:, 0, 0].tolist() for xb, _ in batches(data, batch_size=4, order=order)]
    assert got == [[9, 0, 8, 1], [7, 2, 6, 3], [5, 4]]
    assert [len(xb) for xb, _ in batches(data, batch_size=4)] == [4, 4, 2]
