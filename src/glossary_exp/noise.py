"""Lightning's messages that say nothing to a glossary_exp user, silenced exactly: by message and category.

Each is a consequence of how glossary_exp sets Lightning up, not of anything the user did:
- torch deprecated ``LeafSpec``, which Lightning's own pytree helper still uses;
- the ``srun`` hint, printed on any machine with SLURM's commands installed (our SLURM launcher
  starts jobs itself);
- two ModelCheckpoint callbacks (best and last, trainer.py), of which ``ckpt_path="best"`` takes the first, as meant;
- "The dirpath has changed" when testing a checkpoint saved in another run's directory;
- "exists and is not empty" when a resumed run writes into its own checkpoint directory.
"""

from __future__ import annotations

import logging
import warnings

from lightning.fabric.utilities.warnings import PossibleUserWarning

SILENCED = (
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning),
    (r"The `srun` command is available on your system but is not used", PossibleUserWarning),
    (r"`\.\w+\(ckpt_path=\"best\"\)` is called with Trainer configured with multiple `ModelCheckpoint`", UserWarning),
    (r"The dirpath has changed from", UserWarning),
    (r"Checkpoint directory .* exists and is not empty", UserWarning),
)


def silence_warnings() -> None:
    """Ignore exactly the warnings of :data:`SILENCED` in this process.

    trainer.py calls it as it is imported, so processes that a launcher or ``ddp_spawn`` starts
    (which import it to unpickle our callbacks) are as quiet as the command's own.
    """
    for message, category in SILENCED:
        warnings.filterwarnings("ignore", message=message, category=category)


def quiet_lightning() -> None:
    """:func:`silence_warnings`; route Lightning's log through Hydra's handlers only, without its adverts."""
    silence_warnings()
    lightning_log = logging.getLogger("lightning")
    lightning_log.handlers.clear()  # its own console handler would print every line twice
    # Filters apply only where a record starts, so on the logger that rank_zero_info uses.
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(getattr(f, "glossary_tips", False) for f in rank_zero.filters):
        tips = logging.Filter()
        tips.filter = lambda record: not str(record.msg).startswith("💡 Tip")  # type: ignore[method-assign]
        tips.glossary_tips = True  # type: ignore[attr-defined]
        rank_zero.addFilter(tips)
