"""The one type of a soft Q function as the policy objectives, value estimators, critics and
the acting policy read it."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

#: ``(context [N, C], actions [N, A]) -> Q [E, N]``: E members of a critic (1 for a single Q)
QFunction = Callable[[Tensor, Tensor], Tensor]


def all_actions(q: QFunction, context: Tensor, k: int) -> Tensor:
    """``Q [E, B, K]`` of each of K discrete actions (one-hot) in each context row: from
    ``q.all_actions(context)`` where ``q`` has it (a critic with one output per action: one pass),
    else from ``q`` on the K one-hot actions of every row."""
    direct = getattr(q, "all_actions", None)
    if direct is not None:
        return direct(context)
    batch = context.shape[0]
    eye = torch.eye(k, device=context.device, dtype=context.dtype)
    out = q(context.repeat_interleave(k, dim=0), eye.repeat(batch, 1))  # [E, B * K]
    return out.reshape(out.shape[0], batch, k)
