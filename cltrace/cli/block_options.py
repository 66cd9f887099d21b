"""--block K: declared once for cltrace sweep and cltrace network (the blocks: cltrace/sweep/blocks.py)."""
from ..errors import UsageError

BLOCK_HELP = ("run K configurations of the plan in each process (default 1: one process per configuration). The "
              "process is then a block: the step test compares configurations inside each process, where the "
              "process effect (20-80%% of the variance here) cancels, and needs fewer processes. {how}")


def add_block_argument(p, how: str) -> None:
    """`how`: what a block is for this command (its part of the help)."""
    p.add_argument("--block", type=int, default=None, metavar="K", help=BLOCK_HELP.format(how=how))


def stored_block(args, previous):
    """--resume keeps the stored sweep's K (a different --block is a usage error); None: not resuming."""
    if previous is None:
        return None
    stored_k = previous.block
    if args.block is not None and args.block != stored_k:
        raise UsageError(f"--resume completes sweep {previous.sweep_id}, which ran --block {stored_k}: "
                         f"leave out --block {args.block}")
    return stored_k
