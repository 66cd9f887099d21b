"""cltrace sweep --block K: the blocks of a plan (sweep/blocks.py)."""
import pytest

from cltrace.errors import UsageError
from cltrace.sweep.blocks import (_sizes, block_command, block_params, blocks_to_run, check_block, plan_blocks,
                                  shared_params)
from cltrace.sweep.plan import plan


@pytest.mark.parametrize("n,k,sizes", [(12, 12, [12]), (12, 5, [4, 4, 4]), (6, 4, [3, 3]), (7, 3, [3, 2, 2]),
                                       (5, 2, [2, 3]), (3, 2, [3]), (4, 1, [1, 1, 1, 1])])
def test_sizes_are_even_none_larger_than_k_and_no_block_of_one(n, k, sizes):
    assert _sizes(n, k) == sizes


@pytest.mark.parametrize("order", ["shuffle", "interleave", "sequential"])
def test_every_planned_run_is_in_one_block_and_a_block_holds_a_configuration_once(order):
    runs = plan([("c", [str(i) for i in range(1, 11)]), ("m", ["a", "b"])], 3, order, seed=7)
    blocks = plan_blocks(runs, 6, seed=7)
    assert sorted(r.index for b in blocks for r in b) == list(range(60))
    for b in blocks:
        assert len({r.config for r in b}) == len(b) and len({r.repeat for r in b}) == 1
        assert 2 <= len(b) <= 6
    # blocks are drawn at random in every order, so a configuration shares processes with different ones
    partners = {frozenset(r.config for r in b) for b in blocks}
    assert len(partners) == len(blocks)
    assert plan_blocks(runs, 6, seed=7) == blocks and plan_blocks(runs, 6, seed=8) != blocks


def test_resume_runs_what_each_block_still_lacks_in_the_same_blocks():
    runs = plan([("c", [str(i) for i in range(1, 7)])], 2, "shuffle", seed=3)
    full = blocks_to_run(runs, runs, 3, seed=3)
    assert blocks_to_run(runs, runs, 3, seed=3) == full            # the measuring order is seeded too
    todo = [r for r in runs if r.index % 2 == 0]
    part = blocks_to_run(runs, todo, 3, seed=3)
    by_block = [sorted(r.index for r in b if r.index % 2 == 0) for b in full]
    assert sorted(sorted(r.index for r in b) for b in part) == sorted(x for x in by_block if x)


def test_block_command_joins_the_values_that_vary_and_keeps_shared_ones():
    runs = plan([("c", ["5", "1", "12"]), ("m", ["tiled"])], 1, "interleave")
    assert block_params(runs) == {"c": "5,1,12", "m": "tiled"}
    assert shared_params(runs) == {"m": "tiled"}
    assert block_command(["bench", "--out-channels", "{c}", "--method={m}"], runs) == \
        ["bench", "--out-channels", "5,1,12", "--method=tiled"]


@pytest.mark.parametrize("args,message", [
    ((0, 6, False, False), "--block 0: a block is the number of configurations one process measures (at least 1; "
                           "1 is one process per configuration)"),
    ((7, 6, False, False), "--block 7 is larger than the plan's 6 configurations: a process measures each "
                           "configuration at most once, so give --block 6 or less"),
    ((2, 1, False, False), "--block 2 is larger than the plan's 1 configuration: a process measures each "
                           "configuration at most once, so give --block 1 or less"),
    ((2, 6, True, False), "--block runs on this machine only: leave out --cluster, or --block"),
    ((2, 6, False, True), "--block and --adaptive cannot be combined yet (--adaptive re-runs single "
                          "configurations): leave out one of them"),
])
def test_check_block(args, message):
    with pytest.raises(UsageError) as e:
        check_block(*args)
    assert str(e.value) == message
    check_block(1, 6, True, True)          # one process per configuration: as without --block
