"""The one type of a soft Q function as the policy objectives, value estimators, critics and
the acting policy read it."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

#: ``(context [N, C], actions [N, A]) -> Q [E, N]``: E members of a critic (1 for a single Q)
QFunction = Callable[[Tensor, Tensor], Tensor]
