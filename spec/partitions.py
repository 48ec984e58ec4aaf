"""The `partitions` benchmark family: P partitions, each with its own consumer.

Every partition runs the `kafka` loop on its own log (every loop variable becomes an
array indexed by partition); `crashes` is one budget shared by all consumers, and
Crash(p) restarts consumer p alone. With partitions=1 the reachable states are those
of `kafka`. Semantics: shared/reference-model.md. Left out: consumer groups sharing
partitions, rebalances, cross-partition ordering.
"""

from checker import Array, Model, all_of, any_of, indices

from . import consumer_loop as loop

model = Model("partitions", __doc__)
model.param("partitions", 2, min=1, doc="partitions, each with its own producer and consumer")
model.param("messages", 3, min=1, doc="messages per partition")
model.param("max_crashes", 2, min=0, doc="consumer crashes allowed in one run, all consumers together")
model.param("commit", "after", choices=("after", "before"),
            doc="commit after processing (at-least-once) or before (at-most-once)")


@model.variables
def _variables(p):
    return loop.variables(p, per=lambda domain: Array(p.partitions, domain))


# The partitions are interchangeable: each runs the same loop on its own log, and the
# properties quantify over all of them. `verify --symmetry` explores one state per orbit.
model.symmetric("partitions")

# One instance of each loop step per partition, on the view `s.at(p)`.
model.action(loop.Produce, over="partitions", at=True)
model.action(loop.Poll, over="partitions", at=True)
model.action(loop.Process, over="partitions", at=True)
model.action(loop.Commit, over="partitions", at=True)

crash = model.failure_mode("crash", budget="max_crashes", counter="crashes",
                           doc=loop.CRASH_DOC, default=True)
crash.action(loop.Crash, over="partitions", at=True)


@model.always(expect=loop.expect_no_loss)
def no_loss(s):
    """On every partition, every offset below the committed offset was processed or is in hand."""
    return all_of(indices(s.params.partitions), lambda p: loop.no_loss(s.at(p)))


@model.sometimes(expect=loop.expect_duplicate)
def duplicate_delivery(s):
    """On some partition, some record was processed twice or more."""
    return any_of(indices(s.params.partitions), lambda p: loop.duplicate_delivery(s.at(p)))


@model.eventually(expect=loop.expect_all_processed, fair=loop.LOOP)
def all_processed(s):
    """Every message of every partition has been processed at least once."""
    return all_of(indices(s.params.partitions), lambda p: loop.all_processed(s.at(p)))


model.pictures(project=("pc", "committed"), actors=loop.ACTORS_AT, columns=loop.COLUMNS_AT,
               instances=({"messages": 1, "max_crashes": 1},))
