"""Sweeps: the summary of a multirun, Optuna search and pruning, each local job's share of the machine."""
