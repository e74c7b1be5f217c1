"""Hydra sweeper ``glossary_optuna``: Bayesian search with current Optuna's ask/tell API.

Hydra imports this package at every start while discovering plugins, so it imports only
Hydra and the standard library; Optuna is imported when a search actually runs.
"""
