"""The `kafka` model: one producer, one single-partition topic, one consumer.

The textbook at-least-once story: the producer sends, the consumer polls, processes
and commits; a crash before the commit makes Kafka redeliver, so a record can be
processed twice but never lost. With commit=before the consumer commits first
(at-most-once): a crash between commit and processing loses the record.
Semantics: shared/reference-model.md, exactly; the loop itself is in consumer_loop.py.
The reference's NoLoss, DuplicateDelivery and AllProcessed are the properties no-loss,
duplicate-delivery and all-processed here.
"""

from checker import Model

from . import consumer_loop as loop

model = Model("kafka", __doc__)
model.param("messages", 3, min=1, doc="messages the producer sends")
model.param("max_crashes", 2, min=0, unbounded=True,
            doc="consumer crashes allowed in one run (unbounded: any number)")
model.param("commit", "after", choices=("after", "before"),
            doc="commit after processing (at-least-once) or before (at-most-once)")
model.param("fairness", "weak", choices=tuple(loop.FAIRNESS), doc=loop.FAIRNESS_DOC)
model.fairness(loop.fairness)

# The loop is shared with `partitions`, so its parts are declared by direct calls.
model.variables(loop.variables)
model.action(loop.Produce)
model.action(loop.Poll)
model.action(loop.Process)
model.action(loop.Commit)

crash = model.failure_mode("crash", budget="max_crashes", counter="crashes",
                           doc=loop.CRASH_DOC, default=True)
crash.action(loop.Crash)

# Named after their functions: no-loss, duplicate-delivery, all-processed.
model.always(loop.no_loss, expect=loop.expect_no_loss)
model.sometimes(loop.duplicate_delivery, expect=loop.expect_duplicate)
model.eventually(loop.all_processed, expect=loop.expect_all_processed)

model.pictures(project=("pc", "committed"), actors=loop.ACTORS, columns=loop.COLUMNS,
               instances=({}, {"commit": "before"}))
