"""Many runs at once (sweeps on Ray Tune) and statistics over runs (rliable)."""
