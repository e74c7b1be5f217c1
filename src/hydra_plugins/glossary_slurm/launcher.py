"""``hydra/launcher=slurm``: a sweep's jobs as a SLURM job array, through submitit.

Compared with hydra-submitit-launcher's SLURM launcher:

- the request is checked against the partition before anything is submitted;
- job states come from squeue (no accounting needed), a SLURM job that ends without a result is a
  failed job of the sweep rather than a wait without end, and stopping the sweep cancels its jobs;
- a job that SLURM requeues (preemption, ``scontrol requeue``, its time limit near) continues from
  its ``last.ckpt`` in its own run directory, as ``resume=`` does, instead of starting over;
- ``jobs_per_task=K`` runs K sweep jobs one after another in each SLURM job.

The work is :mod:`glossary_exp.sweep.slurm_jobs`'s; this module is what Hydra imports at every start.
"""

from typing import Any, List, Optional, Sequence

from hydra.core.config_store import ConfigStore
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from glossary_exp.sweep.settings import SlurmConf

# Named "submitit": where the extra is not installed, the error names the extra to install.
ConfigStore.instance().store(group="hydra/launcher", name="glossary_submitit_slurm", node=SlurmConf,
                             provider="glossary_exp")


class SlurmLauncher(Launcher):
    def __init__(self, **settings: Any) -> None:
        self.settings = {k: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
                         for k, v in settings.items()}
        self.config: Optional[DictConfig] = None
        self.hydra_context: Optional[HydraContext] = None
        self.task_function: Optional[TaskFunction] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function
        if self.settings.get("wait") is False:  # refused before the sweeper creates anything (a search its study)
            from glossary_exp.sweep.slurm_jobs import check_not_waiting

            check_not_waiting(config.hydra)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from glossary_exp.sweep.slurm_jobs import submit_and_wait

        jobs = [(list(overrides), "hydra.sweep.dir", num, f"job_id_for_{num}", Singleton.get_state())
                for num, overrides in enumerate(job_overrides, start=initial_job_idx)]
        return submit_and_wait(self, jobs)

    def __call__(self, pack: List[Any]) -> List[JobReturn]:
        """In the SLURM job: the pack's sweep jobs, one after another."""
        from glossary_exp.sweep.slurm_jobs import run_pack

        return run_pack(self, pack)

    def checkpoint(self, pack: List[Any]) -> Any:
        """submitit's hook on USR2: requeue the same pack; restarted, each job continues from what it saved."""
        import submitit

        return submitit.helpers.DelayedSubmission(self, pack)
