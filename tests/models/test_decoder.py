from __future__ import annotations

import torch

from models.decoder import ReconstructionDecoder


def test_output_matches_input_shape() -> None:
    dec = ReconstructionDecoder(8, width=0.125)
    z = torch.randn(2, 8, 9, 7)
    assert dec(z).shape == (2, 9, 7)


def test_linear_output_reaches_negative_values_relu_does_not() -> None:
    torch.manual_seed(0)
    z = torch.randn(3, 8, 9, 7)
    linear = ReconstructionDecoder(8, width=0.125, output="linear")
    relu = ReconstructionDecoder(8, width=0.125, output="relu")
    relu.load_state_dict(linear.state_dict())
    out_linear, out_relu = linear(z), relu(z)
    assert float(out_linear.detach().min()) < 0  # batch-normed output: about half negative
    assert float(out_relu.detach().min()) >= 0
    # the ReLU variant is the same network with the ReLU before the last average pool
    pooled = torch.nn.functional.avg_pool2d(
        torch.relu(
            linear.blocks[-1].bn2(
                linear.blocks[-1].conv2(
                    torch.relu(linear.blocks[-1].bn1(linear.blocks[-1].conv1(linear.blocks[:-1](z))))
                )
            )
        ),
        3,
        1,
        1,
    )
    assert torch.allclose(out_relu, pooled[:, 0], atol=1e-6)
