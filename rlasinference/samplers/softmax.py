"""The exact Boltzmann distribution over K discrete actions: ``pi(a|c) = softmax(f(c) / T)_a``.

On K actions the target exp(Q/tau) needs no approximation: it is one softmax, and its density,
entropy and normaliser (the soft value ``T log sum_a exp(f_a / T)``) are exact. An action is
the one-hot K-vector of its index; any K-vector is read as the action of its largest entry
(``action_index``), which is how an env with a ``Discrete`` action space receives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from rlasinference.core.checks import POSITIVE, Range
from rlasinference.core.nets import ACTIVATIONS, INITS, image_mlp, initialise
from rlasinference.samplers.base import DensityKind, Sampler, Samples, Space


def action_index(actions: Tensor) -> Tensor:
    """The discrete action a K-vector names, its largest entry: ``[..., K] -> [...]`` (long)."""
    return actions.argmax(dim=-1)


def one_hot(index: Tensor, k: int) -> Tensor:
    """``[...] (long) -> [..., K]`` float one-hot actions."""
    return F.one_hot(index, k).float()


class Softmax(Sampler):
    """``pi(a|c) = softmax(f(c) / T)``, ``f`` an MLP ``c -> R^K`` (the action's energy, negated).

    ``T`` (``temperature``) is a buffer, not a parameter: 1 for a policy that learns its logits;
    a critic that *is* this sampler (``softmax-q``: f is the soft Q function, the policy
    softmax(Q/tau)) keeps it equal to tau.

    :param hidden: hidden layer sizes of the MLP ``c -> f(c)``.
    :param activation: of the hidden layers, ``relu``, ``tanh`` or ``gelu``.
    :param temperature: T, the initial divisor of ``f``.
    :param image: the context is an image ``[C, H, W]`` (flattened): a convolutional torso reads
        it (``core.nets.image_torso``); empty, a vector. RL runs set it from the env's observations.
    :param init: the network's initialisation: ``torch`` (PyTorch's) or ``kaiming``
        (``core.nets.initialise``: N(0, 2 / fan_in) weights, zero biases).
    """

    density: ClassVar[DensityKind] = "exact"
    space: ClassVar[Space] = "discrete"
    mode_rule: ClassVar[str] = "the action of the largest logit"
    option_ranges: ClassVar[dict[str, Range]] = {"hidden": Range(1), "temperature": POSITIVE}

    temperature: Tensor

    def __init__(
        self,
        context_dim: int,
        action_dim: int,
        hidden: Sequence[int] = (256, 256),
        activation: str = "relu",
        temperature: float = 1.0,
        image: Sequence[int] = (),
        init: str = "torch",
    ) -> None:
        super().__init__(context_dim, action_dim)
        if activation not in ACTIVATIONS:
            raise ValueError(f"sampler.activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        if init not in INITS:
            raise ValueError(f"sampler.init must be one of {', '.join(INITS)}, got {init!r}")
        self.net = initialise(
            image_mlp(image, context_dim, hidden, action_dim, activation=ACTIVATIONS[activation]), init
        )
        self.register_buffer("temperature", torch.tensor(float(temperature)))

    def energies(self, context: Tensor) -> Tensor:
        """``f(c)``, ``[B, C] -> [B, K]``: the soft Q values where a critic is this sampler."""
        return self.net(context)

    def log_probs(self, context: Tensor) -> Tensor:
        """``log pi(a|c)`` of every action, ``[B, C] -> [B, K]``, exact."""
        return torch.log_softmax(self.energies(context) / self.temperature, dim=-1)

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        log_p = self.log_probs(context)  # [B, K]
        index = torch.multinomial(log_p.detach().exp(), n, replacement=True)  # [B, n]
        log_density = log_p.gather(1, index)
        return Samples(one_hot(index, self.action_dim), log_density, extras={"log_probs": log_p})

    def log_prob(self, context: Tensor, actions: Tensor) -> Tensor:
        return self.log_probs(context).gather(1, action_index(actions))

    def mode(self, context: Tensor) -> Tensor:
        return one_hot(action_index(self.energies(context)), self.action_dim)
