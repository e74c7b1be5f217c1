"""Sweeps: the resumable grid, the Optuna search (pruning, shared studies), the summary with its seed statistics,
each local job's share of the machine."""
