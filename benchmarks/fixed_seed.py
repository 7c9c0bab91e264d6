"""Fixed-seed fingerprints of every preset: a short run each, its metrics.csv (all but the time
and speed columns) and its final weights hashed. Run it on two commits and compare the JSON
files to check that a restructuring left what every preset computes unchanged (on one machine:
results depend on the CPU's instruction set).

    python benchmarks/fixed_seed.py --out before.json        # on the commit before
    python benchmarks/fixed_seed.py --out after.json         # on the commit after
    python benchmarks/fixed_seed.py --compare before.json after.json
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

# every preset, and the two combinations the docs name, at sizes that run in seconds
OFF_POLICY = [
    "--steps", "400", "--eval-every", "200", "--eval-episodes", "1", "--set", "learning_starts=100",
    "--set", "batch_size=32", "--set", "critic_hidden=[16, 16]", "--set", "log_every=100",
]  # fmt: skip
ON_POLICY = ["--steps", "512", "--eval-every", "256", "--eval-episodes", "1", "--set", "num_steps=128"]
RUNS: dict[str, list[str]] = {
    "sac": ["--algo", "sac", *OFF_POLICY],
    "sac-flow": ["--algo", "sac", "--sampler", "flow", *OFF_POLICY],
    "sac-critic=crossq": ["--algo", "sac", "--set", "critic=crossq", *OFF_POLICY],
    "crossq": ["--algo", "crossq", *OFF_POLICY],
    "meow": ["--algo", "meow", *OFF_POLICY],
    "sql": ["--algo", "sql", *OFF_POLICY],
    "diffsac": ["--algo", "diffsac", *OFF_POLICY, "--set", "sampler.steps=4"],
    "dime": ["--algo", "dime", *OFF_POLICY, "--set", "sampler.steps=4", "--set", "critic.atoms=21"],
    "ppo": ["--algo", "ppo", *ON_POLICY],
    "diffppo": ["--algo", "diffppo", *ON_POLICY, "--set", "sampler.steps=4"],
}


def fingerprint(run_dir: Path) -> dict[str, str]:
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = [{k: v for k, v in r.items() if k not in ("time_s", "sps")} for r in csv.DictReader(f)]
    modules = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=False)["agent"]["modules"]
    weights = hashlib.sha256()

    def add(key: str, value: object) -> None:  # tensors, and the extra state some modules keep (dicts)
        weights.update(key.encode())
        if isinstance(value, dict):
            for k in sorted(value):
                add(f"{key}.{k}", value[k])
        elif isinstance(value, torch.Tensor):
            weights.update(value.detach().cpu().contiguous().numpy().tobytes())
        else:
            weights.update(repr(value).encode())

    for key in sorted(modules):
        add(key, modules[key])
    return {"metrics": hashlib.sha256(json.dumps(rows).encode()).hexdigest(), "weights": weights.hexdigest()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write the fingerprints here")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        differ = [name for name in before if before[name] != after.get(name)]
        for name in before:
            print(f"{name:<20} {'same' if name not in differ else 'DIFFERENT'}")
        sys.exit(1 if differ else 0)
    out: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, flags in RUNS.items():
            run_dir = Path(tmp) / name
            command = ["rlai", "train", *flags, "--seed", "3", "--set", "threads=1", "--quiet", "--out", str(run_dir)]
            subprocess.run(command, check=True, capture_output=True)
            out[name] = fingerprint(run_dir)
            print(name, out[name]["metrics"][:12], out[name]["weights"][:12], flush=True)
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
