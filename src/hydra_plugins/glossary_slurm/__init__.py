"""``hydra/launcher=slurm``: our SLURM launcher (``launcher.py``). Hydra imports this at every start: it stays light."""
