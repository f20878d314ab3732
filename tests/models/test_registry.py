from __future__ import annotations

import dataclasses

import pytest
import torch

import models
from models import ModelConfig, ModelError


def test_available_lists_the_table_rows_in_order() -> None:
    assert models.available() == [
        "gap",
        "gmp",
        "gwrp",
        "atrous_ap",
        "2ap",
        "2ap_aux",
        "max_pool",
        "mean_pool",
        "linear_softmax",
        "exp_softmax",
        "autopool",
        "autopool_cap",
        "autopool_rap",
        "power_pool",
        "noisy_or",
        "attention_time",
        "attention_class",
    ]


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(ModelError, match="unknown model 'vgg'.*gap, gmp, gwrp, atrous_ap, 2ap, 2ap_aux"):
        models.build("vgg")
    assert issubclass(ModelError, ValueError)


@pytest.mark.parametrize(
    "name,alpha,decoder",
    [("gap", 0.0, False), ("atrous_ap", 0.0, False), ("2ap", 0.0, False), ("2ap_aux", 0.001, True)],
)
def test_default_alpha_and_decoder(name: str, alpha: float, decoder: bool) -> None:
    config = models.make_config(name)
    assert config.alpha == alpha and config.decoder is decoder and config.name == name


def test_alpha_override_for_the_ablation() -> None:
    assert models.make_config("2ap_aux", alpha=0.1).alpha == 0.1
    assert models.make_config("2ap_aux", alpha=0).alpha == 0.0


@pytest.mark.parametrize("name", ["gap", "2ap"])
def test_alpha_needs_a_decoder(name: str) -> None:
    with pytest.raises(ModelError, match="no reconstruction decoder.*'2ap_aux'"):
        models.make_config(name, alpha=0.01)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"alpha": -1.0}, "alpha must be"),
        ({"width": 0}, "width must be"),
        ({"n_frames": 0}, "n_frames must be"),
        ({"n_mels": 2.5}, "n_mels must be"),
        ({"attention": "softmax"}, "attention must be one of 'code', 'sigmoid_in_softmax', 'as_printed'"),
        ({"time_init": "xavier"}, "time_init must be one of 'identity', 'default'"),
        ({"time_layer": "gru"}, "time_layer must be one of"),
        ({"time_kernel": 2}, "time_kernel must be an odd"),
        ({"gwrp_decay": 0.9}, "do not apply to model '2ap_aux'"),
    ],
)
def test_bad_options(kwargs: dict, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        models.make_config("2ap_aux", **kwargs)


def test_option_of_another_model_is_refused() -> None:
    with pytest.raises(ModelError, match="decoder_output do not apply to model '2ap'.*attention"):
        models.make_config("2ap", decoder_output="relu")
    with pytest.raises(ModelError, match="gwrp_decay must be a number in"):
        models.make_config("gwrp", gwrp_decay=1.5)
    assert models.make_config("gwrp", gwrp_decay=0.99).gwrp_decay == 0.99


def test_config_is_frozen_and_round_trips() -> None:
    config = models.make_config(
        "2ap_aux",
        n_classes=10,
        width=0.5,
        alpha=0.1,
        attention="code",
        time_layer="conv",
        time_kernel=3,
        decoder_output="relu",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.alpha = 1.0  # type: ignore[misc]
    d = config.to_dict()
    assert d["name"] == "2ap_aux" and d["alpha"] == 0.1 and d["attention"] == "code"
    assert ModelConfig.from_dict(d) == config
    for name in models.available():
        c = models.make_config(name)
        assert ModelConfig.from_dict(c.to_dict()) == c


def test_from_dict_rejects_a_changed_fixed_field() -> None:
    d = models.make_config("gap").to_dict()
    d["decoder"] = True
    with pytest.raises(ModelError, match="decoder is fixed"):
        ModelConfig.from_dict(d)
    d = models.make_config("gap").to_dict()
    d["attention"] = "as_printed"
    with pytest.raises(ModelError, match="do not apply"):
        ModelConfig.from_dict(d)


def test_from_dict_reads_the_former_attention_name() -> None:
    d = models.make_config("2ap_aux").to_dict()
    d["attention"] = "paper"  # what configs saved before the rename hold
    assert ModelConfig.from_dict(d).attention == "sigmoid_in_softmax"
    assert models.make_config("2ap_aux").attention == "code"


def test_from_config_rebuilds_the_same_model() -> None:
    config = models.make_config("2ap_aux", n_classes=3, n_mels=8, n_frames=10, width=0.05, alpha=0.1)
    a = models.from_config(config, seed=1)
    b = models.from_config(config.to_dict(), seed=1)
    assert a.config == b.config == config
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("prior", [0.0, 1.0, -0.1, 1.5, True, "0.1"])
def test_bad_prior_is_refused(prior) -> None:
    with pytest.raises(ModelError, match="prior must be a probability"):
        models.make_config("gap", prior=prior)


def test_prior_defaults_to_none_and_round_trips() -> None:
    assert models.make_config("gap").prior is None
    for name in models.available():
        c = models.make_config(name, prior=3 / 41)
        assert c.prior == pytest.approx(3 / 41)
        assert ModelConfig.from_dict(c.to_dict()) == c


def test_prior_needs_the_sigmoid_atrous_head() -> None:
    with pytest.raises(ModelError, match="prior does not apply to atrous_activation='log_softmax'"):
        models.make_config("atrous_ap", atrous_activation="log_softmax", prior=0.1)
    assert models.make_config("atrous_ap", atrous_activation="log_softmax").prior is None
