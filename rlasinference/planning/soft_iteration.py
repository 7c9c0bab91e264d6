"""Soft Q-iteration and soft policy iteration on a tabular MDP (the lecture in the seed papers,
001): with K actions the Boltzmann target is one softmax, and everything is exact.

    F_tau(q) = tau log sum_a exp(q_a / tau)          (the soft maximum; tau = 0: max)
    f_tau(q) = exp((q - F_tau(q)) / tau)             (the soft-indmax policy; tau = 0: argmax)
    (T Q)(s, a) = r(s, a) + gamma sum_s' P(s' | s, a) F_tau(Q(s', .))

T is a gamma-contraction in the sup norm, so Q-iteration converges from any start; ``tol`` bounds
the last step, and the distance to Q* is at most gamma / (1 - gamma) times it. Policy iteration
evaluates f_tau(Q) exactly (a linear system) and improves it by the same softmax; it converges in
a handful of sweeps. Transitions that terminate the episode do not bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlasinference.core.errors import UserError


@dataclass
class TabularMDP:
    """``reward[s, a]``: expected reward; ``cont[s, a, s']``: the probability of reaching ``s'``
    without the episode terminating (rows sum to 1 minus the termination probability)."""

    reward: np.ndarray
    cont: np.ndarray

    @property
    def states(self) -> int:
        return int(self.reward.shape[0])

    @property
    def actions(self) -> int:
        return int(self.reward.shape[1])


@dataclass
class SoftSolution:
    q: np.ndarray  # [S, A]
    v: np.ndarray  # [S]: F_tau(Q(s, .))
    policy: np.ndarray  # [S, A]: f_tau(Q(s, .))
    iterations: int
    residual: float  # the size of the last step, sup |Q_last - Q_before| (policy iteration: sup |T Q - Q|)

    def as_dict(self) -> dict[str, object]:
        return {
            "q": self.q.tolist(),
            "v": self.v.tolist(),
            "policy": self.policy.tolist(),
            "iterations": self.iterations,
            "residual": self.residual,
        }


def soft_max(q: np.ndarray, tau: float) -> np.ndarray:
    """F_tau over the last axis: tau logsumexp(q / tau), stable for any tau >= 0 (0: the max)."""
    top = q.max(axis=-1)
    if tau == 0:
        return top
    return top + tau * np.log(np.exp((q - top[..., None]) / tau).sum(axis=-1))


def soft_policy(q: np.ndarray, tau: float) -> np.ndarray:
    """f_tau over the last axis: softmax(q / tau); at tau = 0 uniform over the maximisers."""
    if tau == 0:
        best = np.isclose(q, q.max(axis=-1, keepdims=True), rtol=0.0, atol=1e-12).astype(float)
        return best / best.sum(axis=-1, keepdims=True)
    z = np.exp((q - q.max(axis=-1, keepdims=True)) / tau)
    return z / z.sum(axis=-1, keepdims=True)


def _check(mdp: TabularMDP, gamma: float, tau: float) -> None:
    if not 0.0 <= gamma < 1.0:
        raise UserError(f"gamma must be in [0, 1) for the iteration to contract, got {gamma}")
    if not (tau >= 0.0 and np.isfinite(tau)):
        raise UserError(f"tau must be 0 or positive, got {tau}")


def soft_q_iteration(
    mdp: TabularMDP, gamma: float, tau: float, tol: float = 1e-10, max_iterations: int = 1_000_000
) -> SoftSolution:
    """Iterate Q <- T Q from 0 until sup |T Q - Q| <= tol (1 - gamma) / gamma, which puts Q
    within ``tol`` of Q*."""
    _check(mdp, gamma, tau)
    q = np.zeros_like(mdp.reward, dtype=np.float64)
    stop = tol * (1 - gamma) / max(gamma, 1e-12)
    residual = np.inf
    for iteration in range(1, max_iterations + 1):
        new = mdp.reward + gamma * mdp.cont @ soft_max(q, tau)
        residual = float(np.abs(new - q).max())
        q = new
        if residual <= stop:
            return SoftSolution(q, soft_max(q, tau), soft_policy(q, tau), iteration, residual)
    raise UserError(f"soft Q-iteration did not reach {tol:g} in {max_iterations} iterations (residual {residual:.3g})")


def policy_value(mdp: TabularMDP, gamma: float, tau: float, policy: np.ndarray) -> np.ndarray:
    """Q of ``policy`` exactly: Q = r + gamma P V, V(s) = sum_a pi(a|s) (Q(s, a) - tau log pi(a|s))."""
    s, a = mdp.states, mdp.actions
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy_bonus = -tau * np.where(policy > 0, policy * np.log(policy), 0.0).sum(axis=1)  # tau H(pi(.|s))
    # Q(s,a) - gamma sum_{s'} P(s'|s,a) sum_{a'} pi(a'|s') Q(s',a') = r(s,a) + gamma P(s'|s,a) tau H(s')
    flow = np.einsum("xys,sb->xysb", mdp.cont, policy).reshape(s * a, s * a)
    rhs = (mdp.reward + gamma * mdp.cont @ entropy_bonus).reshape(-1)
    return np.linalg.solve(np.eye(s * a) - gamma * flow, rhs).reshape(s, a)


def soft_policy_iteration(mdp: TabularMDP, gamma: float, tau: float, max_iterations: int = 1000) -> SoftSolution:
    """Evaluate f_tau(Q) exactly, improve it to f_tau(Q of it), until the policy stops changing."""
    _check(mdp, gamma, tau)
    policy = np.full(mdp.reward.shape, 1.0 / mdp.actions)
    for iteration in range(1, max_iterations + 1):
        q = policy_value(mdp, gamma, tau, policy)
        improved = soft_policy(q, tau)
        if np.abs(improved - policy).max() <= 1e-13:
            backup = mdp.reward + gamma * mdp.cont @ soft_max(q, tau)
            return SoftSolution(q, soft_max(q, tau), improved, iteration, float(np.abs(backup - q).max()))
        policy = improved
    raise UserError(f"soft policy iteration did not settle in {max_iterations} sweeps")
