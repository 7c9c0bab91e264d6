from __future__ import annotations

import numpy as np
import torch

from rlasinference.training.buffer import ReplayBuffer


def _fill(buffer: ReplayBuffer, n: int) -> None:
    for i in range(n):
        obs = np.full(3, i, dtype=np.float32)
        buffer.add(obs, np.full(2, i / 100, dtype=np.float32), float(i), obs + 1, i % 7 == 0)


def test_add_sample_and_wraparound() -> None:
    buffer = ReplayBuffer(10, 3, 2)
    _fill(buffer, 13)
    assert buffer.size == 10 and buffer.pos == 3
    # the three oldest transitions were overwritten
    assert sorted(buffer.rewards.tolist()) == [float(i) for i in range(3, 13)]
    torch.manual_seed(0)
    batch = buffer.sample(64)
    assert batch.obs.shape == (64, 3) and batch.actions.shape == (64, 2) and batch.rewards.shape == (64,)
    torch.testing.assert_close(batch.next_obs, batch.obs + 1)
    torch.testing.assert_close(batch.obs[:, 0], batch.rewards)
    torch.testing.assert_close(batch.terminated, (batch.rewards % 7 == 0).float())


def test_state_dict_round_trip() -> None:
    buffer = ReplayBuffer(50, 3, 2)
    _fill(buffer, 20)
    other = ReplayBuffer(50, 3, 2)
    other.load_state_dict(buffer.state_dict())
    assert (other.pos, other.size) == (buffer.pos, buffer.size)
    torch.testing.assert_close(other.obs[:20], buffer.obs[:20])
    torch.testing.assert_close(other.terminated[:20], buffer.terminated[:20])


def test_byte_observations_are_stored_as_bytes_and_sampled_as_floats() -> None:
    buffer = ReplayBuffer(8, 4, 2, obs_dtype=torch.uint8)
    for i in range(8):
        obs = np.full(4, 30 * i, dtype=np.uint8)
        buffer.add(obs, np.zeros(2, np.float32), float(i), obs + 1, False)
    assert buffer.obs.dtype == torch.uint8 and buffer.obs.element_size() == 1
    batch = buffer.sample(16)
    assert batch.obs.dtype == torch.float32
    torch.testing.assert_close(batch.obs[:, 0], 30 * batch.rewards)
    torch.testing.assert_close(batch.next_obs, batch.obs + 1)
    other = ReplayBuffer(8, 4, 2, obs_dtype=torch.uint8)
    other.load_state_dict(buffer.state_dict())
    assert torch.equal(other.obs, buffer.obs)


def test_a_checkpoint_writes_the_filled_part_without_copying_it(tmp_path) -> None:
    buffer = ReplayBuffer(1000, 64, 2, obs_dtype=torch.uint8)
    frame = np.arange(64, dtype=np.uint8)
    for i in range(10):
        buffer.add(frame + i, np.zeros(2, np.float32), float(i), frame, i == 9)
    state = buffer.state_dict()
    # the same memory as the buffer's, not a copy
    assert state["obs"].data_ptr() == buffer.obs.data_ptr() and state["obs"].shape == (10, 64)
    path = tmp_path / "buffer.pt"
    torch.save(state, path)
    # the file holds the 10 filled rows, not the 1,000 preallocated ones (64 kB of observations)
    assert path.stat().st_size < 10 * 2 * 64 + 8_000
    other = ReplayBuffer(1000, 64, 2, obs_dtype=torch.uint8)
    other.load_state_dict(torch.load(path, weights_only=True))
    assert torch.equal(other.obs[:10], buffer.obs[:10]) and torch.equal(other.terminated[:10], buffer.terminated[:10])
    empty = ReplayBuffer(5, 3, 2).state_dict()
    assert empty["obs"].shape == (0, 3) and empty["rewards"].shape == (0,)
