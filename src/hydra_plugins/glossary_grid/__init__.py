"""Hydra sweeper ``glossary_grid``: Hydra's grid, resumable. Imported by Hydra at every start: Hydra and stdlib only."""
