"""Plain MLPs and ensembles of MLPs with parameters stacked along a leading member axis."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TypeVar

import torch
from torch import Tensor, nn

from rlasinference.core.precision import low_precision


class _Constant(nn.Module):
    """First layer for an empty context ([B, 0]): a learned vector broadcast over the batch."""

    def __init__(self, out_dim: int) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.zeros(out_dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.value.expand(*x.shape[:-1], -1).clone()  # a fresh tensor: in-place ReLU follows


class MLP(nn.Sequential):
    """``nn.Sequential`` whose matrix products follow the ``precision`` run option; its output is
    float32 either way (``core/precision.py``)."""

    def forward(self, x: Tensor) -> Tensor:
        if not low_precision():
            return super().forward(x)
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            return super().forward(x).float()


ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


def mlp(
    in_dim: int,
    hidden: Sequence[int],
    out_dim: int,
    activation: type[nn.Module] = nn.ReLU,
    batch_renorm: dict[str, float] | None = None,
) -> MLP:
    """MLP ``in_dim -> hidden... -> out_dim`` (ReLU unless told); ``in_dim == 0`` (empty context) is allowed.

    ``batch_renorm``: ``BatchRenorm`` options; given, a batch renormalisation stands in front of
    every linear layer, the input's included (CrossQ's actor)."""
    dims = [in_dim, *hidden, out_dim]
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(dims)):
        if batch_renorm is not None and d_in > 0:
            layers.append(BatchRenorm(d_in, **batch_renorm))  # type: ignore[arg-type]
        layers.append(_Constant(d_out) if d_in == 0 else nn.Linear(d_in, d_out))
        if i < len(dims) - 2:
            layers.append(activation(inplace=True) if activation is nn.ReLU else activation())
    return MLP(*layers)


def orthogonal_init(net: nn.Module, last_gain: float) -> None:
    """Orthogonal weights with gain sqrt(2) and zero biases on every linear layer, ``last_gain``
    on the last: the initialisation of the PPO reference implementations (openai/baselines)."""
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    for i, layer in enumerate(linears):
        nn.init.orthogonal_(layer.weight, last_gain if i == len(linears) - 1 else math.sqrt(2.0))
        nn.init.zeros_(layer.bias)


class BatchRenorm(nn.Module):
    """Batch renormalisation (Ioffe 2017) of ``[..., F]`` features, or of ``[E, B, F]`` features
    separately per ensemble member when ``members`` is given.

    Training mode normalises with the batch's statistics, corrected towards the running ones by
    ``r = clip(sigma_B / sigma, 1/r_max, r_max)`` and ``d = clip((mu_B - mu) / sigma, -d_max, d_max)``
    (both without gradient; ``r = 1, d = 0`` during the first ``warmup`` training calls, i.e.
    plain batch norm), and updates the running statistics; evaluation mode uses the running
    statistics. This is CrossQ's normalisation (Bhatt et al. 2024). Written here because torch
    has batch norm but not batch renorm, and not for stacked ensemble members.

    Where epsilon enters follows CrossQ's reference code and its SBX / sb3-contrib ports, not
    Ioffe's formula ``(x - mu_B) / sqrt(var_B + eps) * r + d``: the batch is normalised with the
    mean ``mu_B - d sigma_B / r`` and the variance ``var_B / r^2``, and epsilon is added to that
    variance. The two agree while ``r = 1, d = 0`` and differ after the warm-up, most where
    ``var_B`` is small next to epsilon.
    """

    def __init__(
        self,
        features: int,
        members: int | None = None,
        momentum: float = 0.01,
        r_max: float = 3.0,
        d_max: float = 5.0,
        warmup: int = 100_000,
        eps: float = 1e-3,
    ) -> None:
        super().__init__()
        self.momentum, self.r_max, self.d_max, self.warmup, self.eps = momentum, r_max, d_max, warmup, eps
        self.members = members
        shape = (features,) if members is None else (members, 1, features)
        self.weight = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape))
        self.running_mean: Tensor
        self.running_var: Tensor
        self.calls: Tensor
        self.register_buffer("running_mean", torch.zeros(shape))
        self.register_buffer("running_var", torch.ones(shape))
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def forward(self, x: Tensor, detach_params: bool = False) -> Tensor:
        x = x.float()  # statistics in float32 (bf16 precision)
        weight, bias = (self.weight.detach(), self.bias.detach()) if detach_params else (self.weight, self.bias)
        # each form scales by a per-feature factor, so that the batch-sized tensor sees one
        # subtraction, one product and one sum, forward and backward (a division by the feature's
        # deviation costs several batch-sized operations more in its backward pass)
        if not self.training:
            return (x - self.running_mean) * (torch.rsqrt(self.running_var + self.eps) * weight) + bias
        # the batch axis of each member, or every axis but the features'
        dims, keep = ((1,), True) if self.members is not None else (tuple(range(x.dim() - 1)), False)
        mean = x.mean(dim=dims, keepdim=keep)
        # two passes: torch's one-pass (Welford) variance along a strided axis is about 100x the
        # time of the mean over the same numbers on a CPU; the results agree to float32 rounding
        var = (x - mean).square().mean(dim=dims, keepdim=keep)
        with torch.no_grad():
            running_std = torch.sqrt(self.running_var + self.eps)
            renorm = self.calls >= self.warmup  # a tensor test: no host synchronisation
            r = torch.where(renorm, (torch.sqrt(var + self.eps) / running_std).clamp(1 / self.r_max, self.r_max), 1.0)
            d = torch.where(renorm, ((mean - self.running_mean) / running_std).clamp(-self.d_max, self.d_max), 0.0)
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var, self.momentum)
            self.calls += 1
        # sigma_B from a variance held above 0: sqrt's gradient at a constant feature (a ReLU unit
        # dead over the batch) is infinite, and 0 * inf would put NaN into every gradient
        shift = mean - d * var.clamp_min(1e-12).sqrt() / r
        return (x - shift) * (torch.rsqrt(var / r.square() + self.eps) * weight) + bias


class EnsembleMLP(nn.Module):
    """``members`` independent ReLU (or GELU) MLPs whose parameters are stacked: weight ``[E, in, out]``.

    ``forward(x [B, in]) -> [E, B, out]``. The stacked layout is what ``torch.vmap`` over a
    single member computes; we evaluate it with one batched matmul per layer (``baddbmm``),
    which is the same arithmetic without vmap's dispatch overhead on small networks.
    Each member is initialised like ``nn.Linear`` (uniform in +-1/sqrt(fan_in)).
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int,
        members: int,
        batch_renorm: bool = False,
        renorm_momentum: float = 0.01,
        renorm_warmup: int = 100_000,
        gelu: bool = False,
    ) -> None:
        super().__init__()
        dims = [in_dim, *hidden, out_dim]
        self.members, self.gelu = members, gelu
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in itertools.pairwise(dims):
            bound = 1.0 / math.sqrt(d_in)
            self.weights.append(nn.Parameter(torch.empty(members, d_in, d_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(members, 1, d_out).uniform_(-bound, bound)))
        # CrossQ: batch renormalisation in front of every linear layer, the input's included
        self.norms = (
            nn.ModuleList(BatchRenorm(d, members, momentum=renorm_momentum, warmup=renorm_warmup) for d in dims[:-1])
            if batch_renorm
            else None
        )

    def forward(self, x: Tensor, detach_params: bool = False) -> Tensor:
        """``x [B, in] -> [E, B, out]``, float32; ``detach_params`` lets gradients reach ``x`` but
        not the parameters (a policy loss differentiates through a critic it must not train)."""
        if not low_precision():
            return self._forward(x, detach_params)
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            return self._forward(x, detach_params).float()

    def _forward(self, x: Tensor, detach_params: bool) -> Tensor:
        h = x.unsqueeze(0).expand(self.members, *x.shape)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if detach_params:
                w, b = w.detach(), b.detach()
            if self.norms is not None:
                h = self.norms[i](h, detach_params)
            h = torch.baddbmm(b, h, w)
            if i < last:  # ReLU in place: baddbmm's backward does not need its output
                h = torch.nn.functional.gelu(h) if self.gelu else h.relu_()
        return h


def image_torso(image: Sequence[int]) -> tuple[nn.Module, int]:
    """A convolutional torso reading flat observations of an image ``image = [C, H, W]`` (channels
    first), and its output width: the Nature DQN's (Mnih et al. 2015) for frames of 36 pixels or
    more a side (it divides by 255: Atari's 0..255 frames), else the MinAtar paper's (one 3x3
    convolution, 16 filters; Young and Tian 2019) for its 0/1 planes."""
    c, h, w = (int(x) for x in image)
    kind = "nature" if min(h, w) >= 36 else "minatar"
    layers: list[nn.Module] = [nn.Unflatten(-1, (c, h, w))]
    if kind == "minatar":
        layers += [nn.Conv2d(c, 16, 3, 1), nn.ReLU(inplace=True), nn.Flatten()]
        torso = nn.Sequential(*layers)
    else:  # frames and weights channels last: oneDNN's (and cuDNN's) faster convolutions for these sizes
        layers += [Frames(1 / 255, torch.channels_last), nn.Conv2d(c, 32, 8, 4), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(32, 64, 4, 2), nn.ReLU(inplace=True), nn.Conv2d(64, 64, 3, 1), nn.ReLU(inplace=True)]
        torso = nn.Sequential(*layers, nn.Flatten()).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    with torch.no_grad():
        width = int(torso(torch.zeros(1, c * h * w)).shape[-1])
    return torso, width


class Frames(nn.Module):
    """Scales a batch of images ``[B, C, H, W]`` by ``factor`` into ``memory_format``, in one pass:
    the same values, another order in memory (``benchmarks/image_layout.py`` times the Nature
    torso's update in both orders)."""

    def __init__(self, factor: float, memory_format: torch.memory_format) -> None:
        super().__init__()
        self.factor, self.memory_format = factor, memory_format

    def forward(self, x: Tensor) -> Tensor:
        if x.requires_grad:  # ``out=`` records no gradient
            return x.contiguous(memory_format=self.memory_format) * self.factor
        dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()  # bytes scale to floats
        return torch.mul(x, self.factor, out=torch.empty_like(x, dtype=dtype, memory_format=self.memory_format))


INITS = ("torch", "kaiming")
Net = TypeVar("Net", bound=nn.Module)


def initialise(net: Net, init: str) -> Net:
    """``net``'s layers as ``init`` says: ``torch``, as built (PyTorch's defaults); ``kaiming``,
    every linear and convolutional layer's weights from N(0, 2 / fan_in) and its biases 0, the
    output layer's too (CleanRL's ``layer_init`` for discrete SAC on Atari)."""
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    if init == "torch":
        return net
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Linear | nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, EnsembleMLP):  # weights [E, in, out]: fan_in is dim 1
                for weight, bias in zip(module.weights, module.biases):
                    weight.normal_(0.0, math.sqrt(2.0 / weight.shape[1]))
                    bias.zero_()
    return net


def image_mlp(image: Sequence[int] | None, in_dim: int, hidden: Sequence[int], out_dim: int, **kwargs: object) -> MLP:
    """``mlp(in_dim, hidden, out_dim)`` behind an ``image_torso`` where the input is an image."""
    if not image:
        return mlp(in_dim, hidden, out_dim, **kwargs)  # type: ignore[arg-type]
    torso, width = image_torso(image)
    return MLP(torso, *mlp(width, hidden, out_dim, **kwargs))  # type: ignore[arg-type]
