"""Training: replay, run directories, checkpoints, metrics and the loop."""
