"""Distributions inside a compiled step: validation (on by default, as in PyTorch) checks
each call's arguments and values in the replay, so a REINFORCE or a VAE step replays
rather than breaking to eager, gives eager's numbers, and refuses a bad value as eager
does."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn


def _same(a, b):
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def _policy_step(policy, optimizer):
    def step(observations, actions, returns):
        dist = ember.distributions.Categorical(logits=policy(observations))
        loss = -(dist.log_prob(actions) * returns).mean() - 0.01 * dist.entropy().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def _policy():
    ember.manual_seed(0)
    policy = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
    return policy, ember.optim.Adam(policy.parameters(), lr=1e-2)


def test_a_policy_gradient_step_replays_with_eagers_numbers():
    eager, compiled = _policy_step(*_policy()), ember.compile(_policy_step(*_policy()))
    rng = np.random.default_rng(0)
    for _ in range(4):
        batch = (ember.tensor(rng.standard_normal((8, 4)), dtype=ember.float32),
                 ember.tensor(rng.integers(0, 3, 8)),
                 ember.tensor(rng.standard_normal(8), dtype=ember.float32))
        _same(eager(*batch), compiled(*batch))
    assert compiled.breaks == [] and compiled.replays == 3, compiled.breaks
    with pytest.raises(ValueError, match="to be within the support"):
        compiled(batch[0], ember.tensor([0, 1, 2, 3, 0, 1, 2, 0]), batch[2])  # 3 is no class


def test_a_vae_step_replays_with_eagers_numbers_and_refuses_a_bad_scale():
    def make():
        ember.manual_seed(1)
        encoder, decoder = nn.Linear(6, 4), nn.Linear(2, 6)
        optimizer = ember.optim.Adam([*encoder.parameters(), *decoder.parameters()])

        def step(x, shift):
            h = encoder(x)
            mu, scale = h[:, :2], (0.5 * h[:, 2:]).exp() + shift
            q = ember.distributions.Normal(mu, scale)
            p = ember.distributions.Normal(ember.zeros_like(mu), ember.ones_like(mu))
            loss = ((decoder(q.rsample()) - x) ** 2).sum(-1).mean() \
                + ember.distributions.kl_divergence(q, p).sum(-1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss

        return step

    eager, compiled = make(), ember.compile(make())
    rng = np.random.default_rng(2)
    shift = ember.zeros(1)
    for _ in range(4):
        x = ember.tensor(rng.standard_normal((8, 6)), dtype=ember.float32)
        ember.manual_seed(7)
        expected = eager(x, shift)
        ember.manual_seed(7)
        _same(expected, compiled(x, shift))
    assert compiled.breaks == [] and compiled.replays == 3, compiled.breaks
    with pytest.raises(ValueError, match="Expected parameter scale"):
        compiled(x, ember.full((1,), -100.0))  # every scale negative
