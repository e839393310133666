"""Tests of TabularResNet, corruption, objectives and the depth experiment (tiny, CPU, fast)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anomaly_tutorial.models import (
    ContrastiveObjective,
    MaskedReconstructionObjective,
    PlainMLP,
    ResidualMLP,
    TabularResNet,
    corrupt_marginal,
    count_parameters,
    info_nce,
    mask_fields,
    sample_field_mask,
    select_fields,
    train_depth_experiment,
)

torch.set_num_threads(1)

CARDS = [4, 3, 6]


def _batch(n: int = 300, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x_num = torch.randn(n, 5, generator=g)
    x_cat = torch.stack([torch.randint(0, c, (n,), generator=g) for c in CARDS], dim=1)
    return x_num, x_cat


def test_output_shape_and_parameter_count() -> None:
    model = TabularResNet(
        5, CARDS, d_embed_cat=4, width=16, depth=2, dropout=0.0, d_out=7, d_numeric=8
    )
    x_num, x_cat = _batch(11)
    z = model(x_num, x_cat)
    assert z.shape == (11, 7)
    assert z.dtype == torch.float32
    d_in = 8 + 4 * len(CARDS)
    hidden = 32
    block = 2 * 16 + (16 * hidden + hidden) + (hidden * 16 + 16)
    expected = (5 * 8 + 8) + 4 * sum(CARDS) + (d_in * 16 + 16) + 2 * block + 2 * 16 + (16 * 7 + 7)
    assert count_parameters(model) == expected
    model.head.weight.requires_grad_(False)
    assert count_parameters(model) == expected - 16 * 7
    assert count_parameters(model, trainable_only=False) == expected


def test_width_depth_dropout_are_parameters() -> None:
    small = TabularResNet(5, CARDS, width=8, depth=1, d_out=4)
    big = TabularResNet(5, CARDS, width=32, depth=4, d_out=4, dropout=0.3)
    assert len(small.blocks) == 1 and len(big.blocks) == 4
    assert count_parameters(big) > count_parameters(small)
    assert big.blocks[0].dropout1.p == pytest.approx(0.3)


def test_batchnorm_variant_and_numeric_only_model() -> None:
    x_num, x_cat = _batch(20)
    z = TabularResNet(5, CARDS, width=8, depth=1, d_out=3, norm="batchnorm")(x_num, x_cat)
    assert z.shape == (20, 3)
    z = TabularResNet(5, [], width=8, depth=1, d_out=3)(x_num, x_cat[:, :0])
    assert z.shape == (20, 3)


def test_every_parameter_gets_a_gradient() -> None:
    torch.manual_seed(0)
    model = TabularResNet(5, CARDS, width=16, depth=3, dropout=0.1, d_out=6)
    x_num, x_cat = _batch(200)
    # every code of every field appears, so every embedding row is used
    for j, c in enumerate(CARDS):
        x_cat[:c, j] = torch.arange(c)
    model(x_num, x_cat).pow(2).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        if "embeddings" in name:
            assert (p.grad.abs().sum(dim=1) > 0).all(), name
        else:
            assert p.grad.abs().sum() > 0, name


def test_bad_inputs_raise_clear_errors() -> None:
    model = TabularResNet(5, CARDS, width=8, depth=1, d_out=3)
    x_num, x_cat = _batch(10)
    with pytest.raises(ValueError, match=r"x_num: expected shape \(n, 5\)"):
        model(x_num[:, :4], x_cat)
    bad = x_cat.clone()
    bad[3, 2] = 6
    with pytest.raises(ValueError, match=r"column 2: code 6 \(row 3\) outside 0\.\.5"):
        model(x_num, bad)
    with pytest.raises(ValueError, match="cardinalities"):
        TabularResNet(5, [3, 0])
    with pytest.raises(ValueError, match="dropout"):
        TabularResNet(5, CARDS, dropout=1.0)


def test_field_mask_selects_requested_fraction_of_allowed_fields() -> None:
    sel = select_fields([f"n{i}" for i in range(5)], ["a", "b", "c"], exclude=["a", "n0"])
    g = torch.Generator().manual_seed(1)
    mask_num, mask_cat = sample_field_mask(1000, sel, 0.5, g)
    per_row = mask_num.sum(1) + mask_cat.sum(1)
    assert (per_row == 3).all()  # round(0.5 * 6 allowed fields)
    assert not mask_num[:, 0].any() and not mask_cat[:, 0].any()
    # the allowed fields are picked uniformly
    freq = torch.cat([mask_num[:, 1:], mask_cat[:, 1:]], dim=1).float().mean(0)
    assert torch.allclose(freq, torch.full_like(freq, 0.5), atol=0.06)
    with pytest.raises(ValueError, match="unknown field"):
        select_fields(["n0"], ["a"], exclude=["nope"])


def test_marginal_corruption_keeps_shapes_dtypes_and_replaces_about_the_rate() -> None:
    x_num, x_cat = _batch(2000)
    sel = select_fields([f"n{i}" for i in range(5)], ["a", "b", "c"])
    g = torch.Generator().manual_seed(2)
    mask_num, mask_cat = sample_field_mask(2000, sel, 0.4, g)
    out = corrupt_marginal(x_num, x_cat, mask_num, mask_cat, g)
    assert out.x_num.shape == x_num.shape and out.x_num.dtype == x_num.dtype
    assert out.x_cat.shape == x_cat.shape and out.x_cat.dtype == torch.int64
    assert torch.equal(out.x_num[~mask_num], x_num[~mask_num])
    assert torch.equal(out.x_cat[~mask_cat], x_cat[~mask_cat])
    # continuous values: a masked entry changes (a donor is almost surely another row)
    changed_num = (out.x_num != x_num).float().mean()
    selected = torch.cat([mask_num, mask_cat], 1).float().mean()
    assert selected == pytest.approx(3 / 8)  # round(0.4 * 8) = 3 fields per row
    assert changed_num == pytest.approx(float(mask_num.float().mean()), abs=0.01)
    # replacement values come from the same column (marginal), codes stay in range
    for j, c in enumerate(CARDS):
        assert int(out.x_cat[:, j].max()) < c
    assert set(out.x_num[:, 0].tolist()) <= set(x_num[:, 0].tolist())


def test_group_corruption_draws_donors_of_the_same_group_only() -> None:
    n = 1000
    g = torch.Generator().manual_seed(3)
    group = torch.randint(0, 3, (n,), generator=g)
    x_num = (group.float() * 100)[:, None] + torch.rand(n, 2, generator=g)
    x_cat = torch.stack([group, torch.randint(0, 5, (n,), generator=g)], dim=1)
    mask_num = torch.ones(n, 2, dtype=torch.bool)
    mask_cat = torch.ones(n, 2, dtype=torch.bool)
    out = corrupt_marginal(x_num, x_cat, mask_num, mask_cat, g, group_column=0)
    assert torch.equal(out.x_cat[:, 0], group)  # the group column is never replaced
    assert not out.mask_cat[:, 0].any()
    assert torch.equal((out.x_num // 100).long(), group[:, None].expand(n, 2))
    assert (out.x_num != x_num).float().mean() > 0.99


def test_mask_fields_uses_tokens() -> None:
    x_num, x_cat = _batch(50)
    mask_num = torch.zeros_like(x_num, dtype=torch.bool)
    mask_cat = torch.zeros_like(x_cat, dtype=torch.bool)
    mask_num[:, 1] = True
    mask_cat[:, 2] = True
    out = mask_fields(x_num, x_cat, mask_num, mask_cat)
    assert (out.x_num[:, 1] == 0).all() and (out.x_cat[:, 2] == 0).all()
    assert torch.equal(out.x_num[:, 0], x_num[:, 0])


def test_info_nce_lower_for_aligned_pairs_than_for_shuffled_ones() -> None:
    g = torch.Generator().manual_seed(4)
    z = torch.randn(64, 16, generator=g)
    view = z + 0.1 * torch.randn(64, 16, generator=g)
    aligned = info_nce(z, view, temperature=0.2)
    shuffled = info_nce(z, view[torch.randperm(64, generator=g)], temperature=0.2)
    assert aligned < 1.0 < np.log(64) - 1 < shuffled
    # identical uninformative projections give exactly log(n)
    flat = torch.ones(8, 4)
    assert info_nce(flat, flat, 0.5).item() == pytest.approx(np.log(8), rel=1e-5)
    with pytest.raises(ValueError, match="temperature"):
        info_nce(z, view, 0.0)


def test_objectives_produce_finite_differentiable_losses() -> None:
    x_num, x_cat = _batch(64)
    model = TabularResNet(5, CARDS, width=16, depth=1, d_out=8)
    sel = select_fields([f"n{i}" for i in range(5)], ["a", "b", "c"], exclude=["a"])
    g = torch.Generator().manual_seed(5)
    for objective in (
        ContrastiveObjective(8, sel, 0.4, 0.2, group_column=0),
        MaskedReconstructionObjective(8, 5, CARDS, sel, 0.3, group_column=0),
        MaskedReconstructionObjective(8, 5, CARDS, sel, 0.3, mask_strategy="marginal"),
    ):
        loss = objective(model, x_num, x_cat, g)
        assert loss.ndim == 0 and torch.isfinite(loss)
        loss.backward()
        assert model.head.weight.grad is not None
        model.zero_grad()


def test_masked_loss_is_zero_for_a_perfect_reconstruction_head() -> None:
    sel = select_fields(["n0"], ["a"])
    obj = MaskedReconstructionObjective(4, 1, [3], sel)
    x_num = torch.tensor([[0.5], [1.5]])
    x_cat = torch.tensor([[1], [2]])
    mask = torch.tensor([[True], [True]])
    loss = obj.reconstruction_loss(torch.zeros(2, 4), x_num, x_cat, mask, mask)
    assert loss > 0
    assert obj.reconstruction_loss(torch.zeros(2, 4), x_num, x_cat, mask & False, mask & False) == 0


def test_plain_and_residual_mlps_share_parameters_and_train() -> None:
    plain, residual = PlainMLP(6, 16, 8, 1), ResidualMLP(6, 16, 8, 1)
    assert count_parameters(plain) == count_parameters(residual)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6)).astype(np.float32)
    y = X @ rng.normal(size=6) + 0.1 * rng.normal(size=300)
    runs = {
        r: train_depth_experiment(X, y, depth=12, residual=r, width=16, steps=40, seed=0)
        for r in (False, True)
    }
    for run in runs.values():
        assert run.loss.shape == (40,) and run.grad_norms.shape == (40, 12)
        assert np.isfinite(run.grad_norms).all()
    # residual connections keep the gradient of the first layer alive and learn faster
    first_layer = {r: run.grad_norms[:10, 0].mean() for r, run in runs.items()}
    assert first_layer[True] > 10 * first_layer[False]
    assert runs[True].final_loss < runs[False].final_loss
    assert runs[True].loss[-10:].mean() < runs[True].loss[:10].mean()
    again = train_depth_experiment(X, y, depth=12, residual=True, width=16, steps=40, seed=0)
    assert np.array_equal(again.loss, runs[True].loss)


def test_depth_experiment_classification_and_bad_input() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    run = train_depth_experiment(X, y, depth=3, task="classification", steps=30)
    assert run.loss[-5:].mean() < run.loss[:5].mean()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        train_depth_experiment(X, y, depth=3)


def test_depth_experiment_inputs_leave_out_the_answer() -> None:
    """The service's own one-hot columns are not among the inputs, and y codes the services."""
    from anomaly_tutorial.data import GeneratorConfig, generate_dataset
    from anomaly_tutorial.features import OCSFFeaturizer
    from anomaly_tutorial.models import depth_experiment_inputs

    events = generate_dataset(GeneratorConfig(n_events=800, days=2, n_users=30, seed=2)).events
    featurizer = OCSFFeaturizer().fit(events)
    X, y, services = depth_experiment_inputs(events, featurizer, n_events=300, random_state=0)
    names = featurizer.get_feature_names_out().astype(str)
    n_service_columns = int(np.char.startswith(names, "cat__dst_endpoint.svc_name=").sum())
    assert n_service_columns > 0
    assert X.shape == (300, len(names) - n_service_columns) and X.dtype == np.float32
    assert y.dtype == np.int64 and set(np.unique(y)) <= set(range(len(services)))
    again = depth_experiment_inputs(events, featurizer, n_events=300, random_state=0)
    assert np.array_equal(again[0], X) and np.array_equal(again[1], y)
    with pytest.raises(ValueError, match="must be fitted"):
        depth_experiment_inputs(events, OCSFFeaturizer(), n_events=10)
    with pytest.raises(ValueError, match="larger than the 800 events"):
        depth_experiment_inputs(events, featurizer, n_events=801)
