"""The sampler contract: a conditional generative model over actions in (-1, 1)^A.

A sampler knows nothing about RL. Its input is a context ``[B, C]`` (an observation, or
an empty ``[B, 0]`` tensor for a toy target) and a sample count ``n``. Where the caller knows the
target's score it may also hand it over as the sampler's ``guide``; a sampler must sample without
one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DensityKind = Literal["exact", "bound", "none"]
DENSITY_KINDS: tuple[DensityKind, ...] = ("exact", "bound", "none")
#: the action space a sampler draws from: ``box``, actions in (-1, 1)^A, or ``discrete``, K
#: actions, each a one-hot K-vector (``samplers/softmax.py``)
Space = Literal["box", "discrete"]
SPACES: tuple[Space, ...] = ("box", "discrete")

#: the score of the target a sampler fits, ``(context [R, C], actions [R, A]) -> grad_a log p(a | c)``
#: ``[R, A]``, differentiable in the actions where they require grad (``Sampler.guide``)
Guide = Callable[[Tensor, Tensor], Tensor]

LOG_2 = math.log(2.0)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@dataclass
class Samples:
    """What ``Sampler.sample`` returns.

    :param actions: ``[B, n, A]`` in (-1, 1), reparameterised (gradients reach the sampler).
    :param log_density: ``[B, n]``: exact ``log pi(a|c)`` for ``exact`` samplers, a per-sample
        estimate of an upper bound on it for ``bound`` samplers, ``None`` for ``none``.
    :param pre_tanh: ``[B, n, A]`` values before the tanh squash, where the sampler has them.
    :param extras: anything else an objective needs (chain states, noise, ...).
    """

    actions: Tensor
    log_density: Tensor | None = None
    pre_tanh: Tensor | None = None
    extras: dict[str, Tensor] = field(default_factory=dict)


class Sampler(nn.Module):
    """Base class of every sampler.

    Subclasses set ``density`` and implement ``sample`` and ``mode``; ``exact``
    samplers also implement ``log_prob``. Constructors take ``(context_dim, action_dim,
    **options)``; the options are the sampler's config fields (``--set sampler.<name>=...``).
    """

    density: ClassVar[DensityKind]
    #: the action space it draws from (a ``discrete`` sampler's ``action_dim`` is K, and its
    #: actions are one-hot: neither reparameterised nor inside the open box)
    space: ClassVar[Space] = "box"
    #: how ``mode`` picks the deterministic action, shown by ``rlai list`` and the docs.
    mode_rule: ClassVar[str] = ""
    #: ``torch.compile`` of ``sample`` was measured to pay for this sampler (many small
    #: operations per call; ``benchmarks/levers.py``): the ``compile`` run option's ``auto``
    #: compiles it in long runs (a sampler may decide per instance, in its constructor).
    compile_sample: bool = False
    #: a standalone fit (``rlai sample``) anneals the target's temperature over this fraction of
    #: its steps unless told otherwise: chosen per sampler on the workbench's target suite
    #: (docs/workbench.md). RL runs do not read it.
    fit_anneal: ClassVar[float] = 0.0
    #: the policy objective a standalone fit uses unless told otherwise (a registered name; empty:
    #: the first that accepts the density kind). RL runs do not read it.
    fit_objective: ClassVar[str] = ""
    #: the gradient steps of a standalone fit unless told otherwise. RL runs do not read it.
    fit_steps: ClassVar[int] = 2000
    #: the target's score, where whoever draws from the sampler knows it: a standalone fit
    #: (``rlai sample``) sets it from its target before fitting and keeps it for evaluation; RL
    #: runs set none (their target moves with the critic). A sampler may use it in its draws (the
    #: diffusion chain's drift) and ignores it otherwise; its density must stay the density of the
    #: draws it returns, guide or not. A plain callable, not a module (a module would be registered
    #: and trained with the sampler); a pickled sampler goes without it.
    guide: Guide | None = None

    def __getstate__(self) -> dict:
        # a guide belongs to whoever set it (often a closure over its target): a pickled sampler
        # (a checkpoint, a copy to another process) goes without it
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        return {k: v for k, v in state.items() if k != "guide"}

    @property
    def follows_guide(self) -> bool:
        """Whether this sampler's draws use ``guide`` when one is set (a standalone fit weighs its
        objective's terms by it)."""
        return False

    def __init__(self, context_dim: int, action_dim: int) -> None:
        super().__init__()
        self.context_dim = context_dim
        self.action_dim = action_dim

    def sample(self, context: Tensor, n: int = 1) -> Samples:
        """Draw ``n`` actions per context row: ``context [B, C] -> Samples`` with ``[B, n, ...]``."""
        raise NotImplementedError

    def draw(self, context: Tensor) -> Tensor:
        """One action per context row without its density, ``[B, C] -> [B, A]``: what acting
        needs. By default ``sample``'s action; a sampler whose density costs extra overrides it
        with the same random draws, so that both give the same action."""
        return self.sample(context, 1).actions[:, 0]

    def log_prob(self, context: Tensor, actions: Tensor) -> Tensor:
        """``log pi(actions | context)``: ``[B, C], [B, n, A] -> [B, n]``. Exact samplers only."""
        raise NotImplementedError(f"{type(self).__name__} has density {self.density!r}: no log_prob")

    def log_prob_pre_tanh(self, context: Tensor, x: Tensor) -> Tensor:
        """``log pi(tanh(x) | context)`` from the values before the squash, ``[B, C], [B, n, A] ->
        [B, n]``, differentiable in ``x`` everywhere (``log_prob`` recovers x by a clipped atanh,
        which has no gradient once |x| > 7.25). Exact samplers that squash by tanh override it;
        by default ``log_prob`` of ``tanh(x)``."""
        return self.log_prob(context, torch.tanh(x))

    def log_probs(self, context: Tensor) -> Tensor:
        """``log pi(a | context)`` of each of the K actions, ``[B, C] -> [B, K]``. Discrete samplers only."""
        raise NotImplementedError(f"{type(self).__name__} draws {self.space} actions: no log_probs over K actions")

    def mode(self, context: Tensor) -> Tensor | None:
        """Deterministic action ``[B, A]`` for evaluation, or ``None`` where the sampler has no
        rule of its own (the policy then takes the best of N samples under the critic)."""
        return None


@runtime_checkable
class PathDensity(Protocol):
    """A sampler whose draws are paths with an exact joint density (the diffusion chain):
    on-policy training forms its ratio on the stored path (``extras["path"]``)."""

    def path_log_prob(self, context: Tensor, path: Tensor) -> tuple[Tensor, Tensor]:
        """Of stored paths ``[B, K]``, one per context row: ``(log_joint, log_back)``, ``[B]``
        each: the path's joint log-density under the sampler, and the log-density of its steps
        back from its end under a fixed kernel plus the squash's log-Jacobian there, so that
        ``log_joint - log_back`` is the bound on log pi(a) that ``sample`` returns. Kept apart
        because ``log_back`` is cheap to differentiate in the path (it does not run the network)."""
        ...


def tanh_log_abs_det(x: Tensor) -> Tensor:
    """``log |d tanh(x) / dx| = log(1 - tanh(x)^2)``, elementwise and stable for large ``|x|``.

    Uses ``log(1 - tanh^2 x) = 2 (log 2 - x - softplus(-2x))``, which never forms ``1 - tanh^2``
    (that underflows to 0 in float32 once ``|x| > 9``).
    """
    return 2.0 * (LOG_2 - x - F.softplus(-2.0 * x))


def repeat_rows(context: Tensor, n: int) -> Tensor:
    """``[B, C] -> [B * n, C]``, each row repeated ``n`` times in place (matches ``[B, n, ...]``
    flattened to ``[B * n, ...]``)."""
    return context.repeat_interleave(n, dim=0) if n > 1 else context


def on_samples(fn: Callable[[Tensor, Tensor], Tensor], context: Tensor, actions: Tensor) -> Tensor:
    """Evaluate ``fn(context [N, C], actions [N, A]) -> [..., N]`` on ``n`` samples per context
    row: ``actions [B, n, A]`` with each row of ``context [B, C]`` repeated for its samples.
    Returns ``[..., B, n]``."""
    batch, n, dim = actions.shape
    out = fn(repeat_rows(context, n), actions.reshape(batch * n, dim))
    return out.reshape(*out.shape[:-1], batch, n)


def atanh_clipped(a: Tensor, eps: float = 1e-6) -> Tensor:
    """Inverse of tanh for actions that may sit on the boundary of (-1, 1) after float rounding."""
    return torch.atanh(a.clamp(-1.0 + eps, 1.0 - eps))
