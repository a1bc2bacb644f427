"""Training under a budget: population-batched training equals one-by-one training."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny networks; more threads only contend on a shared machine
import torch.nn.functional as F  # noqa: E402

from evoengine_gan.losses import (discriminator_loss, generator_loss,  # noqa: E402
                                  loss_one_hot, real_targets)
from evoengine_gan.space import ARTICLE_DEFAULT  # noqa: E402
from evoengine_gan.training import (BatchedAdam, Member, TrainSetup, rounds,  # noqa: E402
                                    train_one, train_population)

# benchmarks/gpu_check.sh runs these tests again with EVOENGINE_TEST_DEVICE=cuda
DEVICE = torch.device(os.environ.get("EVOENGINE_TEST_DEVICE", "cpu"))
TINY = dict(ARTICLE_DEFAULT, latent=16, g_width=32, d_width=32, g_depth=1, d_depth=1,
            batch_size=16)


def digits_tensor(dtype):
    from evoengine_gan.data import prepare_data

    return torch.as_tensor(prepare_data("digits", limit=300).train, dtype=dtype, device=DEVICE)


def test_budget_is_charged_for_every_update():
    cfg = dict(TINY, batch_size=64, d_steps=1, g_steps=1)
    assert rounds(cfg, 12800) == 100
    assert rounds(dict(cfg, g_steps=2), 12800) == 66  # an extra generator step costs a batch
    assert rounds(dict(cfg, batch_size=128), 12800) == 50
    assert rounds(cfg, 10) == 1


def test_losses_match_torch_references():
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(3, 5, generator=gen), torch.randn(3, 5, generator=gen)
    kinds = ["non_saturating", "hinge", "least_squares"]
    one_hot = loss_one_hot(kinds, torch.float32, "cpu")
    smoothing, noise = torch.tensor([0.1, 0.0, 0.2]), torch.tensor([0.05, 0.0, 0.0])
    u = torch.rand(3, 5, generator=gen)
    target = real_targets(smoothing, noise, u)
    d = discriminator_loss(real, fake, one_hot, target)
    g = generator_loss(fake, one_hot)
    bce = F.binary_cross_entropy_with_logits
    assert d[0] == pytest.approx(float(bce(real[0], 1 - 0.1 - 0.05 * u[0])
                                       + bce(fake[0], torch.zeros(5))), rel=1e-5)
    assert g[0] == pytest.approx(float(bce(fake[0], torch.ones(5))), rel=1e-5)
    assert d[1] == pytest.approx(float(F.relu(1 - real[1]).mean() + F.relu(1 + fake[1]).mean()))
    assert g[1] == pytest.approx(float(-fake[1].mean()))
    assert d[2] == pytest.approx(float(0.5 * F.mse_loss(real[2], torch.full((5,), 0.8))
                                       + 0.5 * (fake[2] ** 2).mean()), rel=1e-5)
    assert g[2] == pytest.approx(float(0.5 * ((fake[2] - 1) ** 2).mean()), rel=1e-5)


# fused: PyTorch's fused kernel once per member (the CPU path); not fused: the population
# form (the CUDA path), checked here on the CPU.
@pytest.mark.parametrize("fused", [True, False])
def test_batched_adam_matches_torch_adam_member_by_member(fused):
    gen = torch.Generator().manual_seed(1)
    start = torch.randn(3, 4, 2, generator=gen, dtype=torch.float64)
    lr = torch.tensor([1e-3, 1e-2, 3e-4], dtype=torch.float64)
    b1 = torch.tensor([0.5, 0.0, 0.9], dtype=torch.float64)
    b2 = torch.tensor([0.999, 0.9, 0.95], dtype=torch.float64)
    # Gradients laid out as einsum's backward may lay them out (not row-major): the fused
    # CPU kernel reads memory in order, so a copy must come first.
    grads = [torch.randn(2, 4, 3, generator=gen, dtype=torch.float64).permute(2, 1, 0)
             for _ in range(5)]
    assert not grads[0].is_contiguous()
    # Steps 3 and 4 leave member 1 out (a member that takes fewer updates per round): the
    # gradients of a subset hold its rows only.
    rows = [None, None, torch.tensor([0, 2]), torch.tensor([0, 2]), None]
    stacked = start.clone()
    opt = BatchedAdam([stacked], lr, b1, b2)
    opt.fused = fused
    for g, r in zip(grads, rows, strict=True):
        opt.step([g if r is None else g[r]], r)
    assert opt.steps.tolist() == [5, 3, 5]
    for i in range(3):
        p = torch.nn.Parameter(start[i].clone())
        ref = torch.optim.Adam([p], lr=float(lr[i]), betas=(float(b1[i]), float(b2[i])))
        for g, r in zip(grads, rows, strict=True):
            if r is None or i in r.tolist():
                p.grad = g[i].clone()
                ref.step()
        torch.testing.assert_close(stacked[i], p.detach(), rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(opt.exp_avg[0][i], ref.state[p]["exp_avg"], rtol=1e-12,
                                   atol=1e-14)


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_population_training_equals_one_by_one_at_float64(architecture):
    setup = TrainSetup(digits_tensor(torch.float64), budget=16 * 2 * 6, samples=12)
    variants = [
        dict(lr_g=1e-3, lr_d=2e-3, beta1=0.5, loss="non_saturating", g_activation="relu",
             label_smoothing=0.1, label_noise=0.05),
        dict(lr_g=3e-3, lr_d=1e-4, beta1=0.0, beta2=0.9, loss="hinge",
             g_activation="leaky_relu"),
        dict(lr_g=5e-4, lr_d=5e-4, beta1=0.8, loss="least_squares", label_smoothing=0.2),
    ]
    members = [Member(dict(TINY, architecture=architecture, batch_norm=True, d_steps=2, **v),
                      seed=100 + i) for i, v in enumerate(variants)]
    alone = [train_one(m, setup) for m in members]
    together = train_population(members, setup)
    for a, b in zip(alone, together, strict=True):
        assert a.samples.dtype == np.float64 and a.samples.shape == (12, 1, 8, 8)
        np.testing.assert_allclose(b.samples, a.samples, rtol=0, atol=1e-9)
        assert a.parameters == b.parameters
    # The members did train apart: different settings, different images.
    assert np.abs(alone[0].samples - alone[1].samples).max() > 1e-3


def test_same_seed_same_result_different_seed_different_result():
    setup = TrainSetup(digits_tensor(torch.float32), budget=16 * 2 * 3, samples=8)
    a = train_one(Member(TINY, seed=5), setup).samples
    b = train_one(Member(TINY, seed=5), setup).samples
    c = train_one(Member(TINY, seed=6), setup).samples
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


@pytest.mark.skipif(DEVICE.type != "cuda", reason="mixed precision needs CUDA")
def test_mixed_precision_trains_on_cuda():
    setup = TrainSetup(digits_tensor(torch.float32), budget=16 * 2 * 3, samples=8,
                       mixed_precision=True)
    out = train_population([Member(TINY, seed=1), Member(TINY, seed=2)], setup)
    assert all(np.isfinite(o.samples).all() and o.samples.dtype == np.float32 for o in out)


def test_members_with_different_updates_per_round_share_batched_steps(monkeypatch):
    from evoengine_gan.training import GanPopulation

    patterns = [(1, 1), (2, 1), (1, 2), (2, 2)]
    configs = [dict(TINY, d_steps=d, g_steps=g) for d, g in patterns]
    population = GanPopulation([Member(c, i) for i, c in enumerate(configs)],
                               TrainSetup(digits_tensor(torch.float32), 0, 16))
    steps: list[tuple[str, list[int]]] = []
    for kind in ("d", "g"):
        update = getattr(population, f"_{kind}_update")

        def record(rows, *draws, kind=kind, update=update):
            steps.append((kind, list(range(4)) if rows is None else rows.tolist()))
            update(rows, *draws)

        monkeypatch.setattr(population, f"_{kind}_update", record)
    member_rounds = [rounds(c, 500) for c in configs]  # about 30 updates each (batch 16)
    population.train(member_rounds)
    # Each member takes its own updates, in its own order (D^d then G^g, round after round)...
    for i, (d, g) in enumerate(patterns):
        assert "".join(k for k, rows in steps if i in rows) == ("d" * d + "g" * g) * \
            member_rounds[i]
    # ...in 40 batched steps (running every round in lock-step took 50).
    assert len(steps) == 40
