"""cltrace sweep --block K: the blocks of a plan (sweep/blocks.py)."""
import pytest

from cltrace.errors import UsageError
from cltrace.sweep.blocks import (_sizes, block_command, block_params, blocks_to_run, check_block, plan_blocks,
                                  round_blocks, shared_params)
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
    ((0, 6), "--block 0: a block is the number of configurations one process measures (at least 1; "
             "1 is one process per configuration)"),
    ((7, 6), "--block 7 is larger than the plan's 6 configurations: a process measures each "
             "configuration at most once, so give --block 6 or less"),
    ((2, 1), "--block 2 is larger than the plan's 1 configuration: a process measures each "
             "configuration at most once, so give --block 1 or less"),
    ((4, 6, 2), "--block 4 is larger than the plan's 3 configurations per board (a block runs on one board): a "
                "process measures each configuration at most once, so give --block 3 or less"),
    ((2, 6, 0, 1), "--max-runs leaves room for 1 re-run after the first pass, and a blocked adaptive round "
                   "measures at least 2 configurations in each process (--block 2): give --max-runs 2 or more "
                   "above the first pass, or leave out --block"),
])
def test_check_block(args, message):
    with pytest.raises(UsageError) as e:
        check_block(*args)
    assert str(e.value) == message


def test_check_block_accepts_the_farm_and_adaptive():
    check_block(3, 6, 2)                   # 3 configurations per board on 2 boards
    check_block(2, 6, 0, None)             # --adaptive without --max-runs
    check_block(2, 6, 1, 2)                # room for one block of 2
    check_block(1, 6, 0, 1)                # one process per configuration: as without --block


def test_blocks_on_a_farm_keep_one_board_and_one_board_gives_the_local_blocks():
    local = plan([("c", [str(i) for i in range(1, 9)])], 2, "shuffle", seed=5)
    one = plan([("c", [str(i) for i in range(1, 9)]), ("board", ["a"])], 2, "shuffle", seed=5)
    assert [r.config[:1] for r in one] == [r.config for r in local]       # the same plan, the board added
    strip = [[(r.index, r.config[:1], r.repeat) for r in b] for b in blocks_to_run(one, one, 3, 5, ("board",))]
    assert strip == [[(r.index, r.config, r.repeat) for r in b] for b in blocks_to_run(local, local, 3, 5)]
    two = plan([("c", [str(i) for i in range(1, 9)]), ("board", ["a", "b"])], 2, "shuffle", seed=5)
    blocks = plan_blocks(two, 3, seed=5, split=("board",))
    assert sorted(r.index for b in blocks for r in b) == list(range(32))
    for b in blocks:
        assert len({r.params["board"] for r in b}) == 1 and 2 <= len(b) <= 3
    per_board = {}
    for b in blocks:
        per_board.setdefault((b[0].params["board"], b[0].repeat), []).extend(r.params["c"] for r in b)
    assert sorted(per_board) == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    assert all(sorted(v, key=int) == [str(i) for i in range(1, 9)] for v in per_board.values())


def _configs(values, **others):
    out = []
    for extra in ([()] if not others else [tuple(others.items())]):
        out += [(("c", str(v)),) + tuple((k, str(x)) for k, x in extra) for v in values]
    return out


def test_an_adaptive_round_measures_the_undecided_configurations_and_their_neighbours_in_blocks():
    configs = [(("c", str(v)), ("m", m)) for m in ("x", "y") for v in range(1, 11)]
    wanted = [(("c", "5"), ("m", "x")), (("c", "6"), ("m", "x")), (("c", "1"), ("m", "y"))]
    measured = {c: 3 for c in configs}
    blocks = round_blocks(wanted, configs, "c", 3, 100, measured, 40, seed=9, round_no=2)
    got = sorted((r.params["m"], int(r.params["c"])) for b in blocks for r in b)
    # 5, 6 and their neighbours 4, 7 for m=x; 1 and its neighbour 2 (1 is the lowest) for m=y
    assert got == [("x", 4), ("x", 5), ("x", 6), ("x", 7), ("y", 1), ("y", 2)]
    for b in blocks:
        assert len({r.params["m"] for r in b}) == 1 and 2 <= len(b) <= 3     # one group each, never one alone
    assert sorted(r.index for b in blocks for r in b) == list(range(40, 46))
    assert all(r.repeat == 3 for b in blocks for r in b)
    # seeded: the same round again is the same blocks in the same order; another round, another draw
    assert round_blocks(wanted, configs, "c", 3, 100, measured, 40, seed=9, round_no=2) == blocks
    orders = {tuple(tuple(r.params["c"] for r in b) for b in
                    round_blocks(wanted, configs, "c", 4, 100, measured, 40, seed=9, round_no=k)) for k in range(20)}
    assert len(orders) > 1


def test_an_adaptive_round_keeps_to_the_budget_and_drops_a_configuration_left_alone():
    configs = _configs(range(1, 11))
    wanted = [(("c", str(v)),) for v in (4, 5, 6)]
    blocks = round_blocks(wanted, configs, "c", 2, 4, {}, 0, seed=1, round_no=1)
    assert sorted(int(r.params["c"]) for b in blocks for r in b) == [3, 4, 5, 6]    # wanted first, then 3, not 7
    assert [len(b) for b in blocks] == [2, 2]
    assert round_blocks(wanted, configs, "c", 2, 1, {}, 0, seed=1, round_no=1) == []       # no block of 2
    lone = [(("c", "3"), ("m", "x")), (("c", "1"), ("m", "y"))]
    two = [(("c", str(v)), ("m", m)) for m in ("x", "y") for v in range(1, 5)]
    assert round_blocks(lone, two, "c", 4, 2, {}, 0, seed=1, round_no=1) == []     # x3 alone, y1 alone: dropped
    # values in numeric order, not text order: the neighbours of 9 are 8 and 10
    wide = _configs(range(1, 12))
    blocks = round_blocks([(("c", "9"),)], wide, "c", 3, 10, {}, 0, seed=1, round_no=1)
    assert sorted(int(r.params["c"]) for b in blocks for r in b) == [8, 9, 10]


def test_units_per_configuration_and_the_next_position_come_from_the_block_notes(tmp_path):
    """block_units: the plan's blocks through their positions, an adaptive round's through its block-configs
    note, failed blocks too, other sweeps' runs not; next_index: past every position a block measured."""
    from cltrace.store.db import create_db
    from cltrace.sweep.blocks import block_units, next_index, record_block
    from cltrace.sweep.plan import PlannedRun
    conn = create_db(str(tmp_path / "t.db"))
    runs = plan([("c", ["1", "2", "3", "4"])], 1, "interleave")

    def run(sweep_id, status, index):
        cur = conn.execute("INSERT INTO runs (command, argv, status, sweep_index, sweep_id) VALUES "
                           "('p', '[]', ?, ?, ?)", (status, index, sweep_id))
        return cur.lastrowid

    with conn:
        a = run(1, "ok", 0)
        record_block(conn, a, [runs[2], runs[0]])
        b = run(1, "failed", 1)
        record_block(conn, b, [runs[1], runs[3]])
        added = [PlannedRun(7, (("c", "2"),), 1), PlannedRun(6, (("c", "3"),), 1)]
        c = run(1, "ok", 6)
        record_block(conn, c, added, round_no=1)
        other = run(2, "ok", 0)
        record_block(conn, other, [runs[0], runs[1]])
    units = block_units(conn, 1, runs, ["c"])
    assert units == {("1",): [(a, "ok")], ("3",): [(a, "ok"), (c, "ok")], ("2",): [(b, "failed"), (c, "ok")],
                     ("4",): [(b, "failed")]}
    assert conn.execute("SELECT message FROM notes WHERE run_id = ? AND kind = 'block-configs'",
                        (c,)).fetchone()[0] == '[{"c": "3"}, {"c": "2"}]'          # in the order of the positions
    assert next_index(conn, 1, 4) == 8 and next_index(conn, 2, 4) == 4
    conn.close()


def test_a_network_block_keeps_one_layer_and_its_regions_name_the_count_only(tmp_path):
    """A network's blocks (SweepContext.block_by = layer): every block holds distances of one layer, a layer's
    distances of a repetition all in its blocks; the region check matches by block_keys (channels: the distance
    follows from it and no runner tags it), and without keys a missing distance tag is a missing region."""
    from types import SimpleNamespace

    from cltrace.store.db import create_db
    from cltrace.sweep.blocks import missing_regions, regions_message, split_of
    from cltrace.sweep.plan import plan_configs
    configs = [(("layer", layer), ("channels", str(8 - d)), ("distance", str(d))) for layer in ("a", "b")
               for d in range(5)]
    runs = plan_configs(configs, 2, "shuffle", 3)
    ctx = SimpleNamespace(block_by=("layer",), cluster=None, names=["layer", "channels", "distance"])
    assert split_of(ctx) == ("layer",)
    blocks = plan_blocks(runs, 2, seed=3, split=split_of(ctx))
    assert sorted(r.index for b in blocks for r in b) == list(range(20))
    assert all(len({r.params["layer"] for r in b}) == 1 and 2 <= len(b) <= 3 for b in blocks)
    conn = create_db(str(tmp_path / "t.db"))
    with conn:
        run_id = conn.execute("INSERT INTO runs (command, argv, status) VALUES ('p', '[]', 'ok')").lastrowid
        for r in blocks[0][:-1]:         # the block's last count has no region
            conn.execute("INSERT INTO regions (run_id, process_id, name, tags) VALUES (?, 1, 'a', ?)",
                         (run_id, '{"channels": "%s", "method": "gemm"}' % r.params["channels"]))
    last = blocks[0][-1]
    assert missing_regions(conn, run_id, blocks[0], ["channels"]) == [last]
    assert missing_regions(conn, run_id, blocks[0]) == list(blocks[0])       # no region is tagged distance
    assert (f"no region of it is tagged channels={last.params['channels']}: "
            in regions_message(blocks[0], [last], run_id, ["channels"]))
    conn.close()
