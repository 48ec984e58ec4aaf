"""The `pipeline` model: with every producer and broker feature off it is the reference
model, and its producer and replication steps behave as Kafka documents them."""

import pytest

from checker.explicit import explore
from checker.graph import state_graph, view
from checker.registry import get_model

REFERENCE = {1: 80, 2: 193}  # shared/reference-model.md, kafka with M=3


def _off(model, keep=("crash",)):
    return [f for f in model.failure_modes if f not in keep]


def _reference_states(system):
    return {(s.sent, s.position, s.committed, s.pc, s.cur, s.processed, s.crashes)
            for s in (view(g, n) for g in [state_graph(system)] for n in g)}


def _projected_states(system):
    """The pipeline's states seen through the reference variables: `sent` is what the consumer can read."""
    return {(s.hw, s.position, s.committed, s.pc, s.cur, s.processed, s.crashes)
            for s in (view(g, n) for g in [state_graph(system)] for n in g)}


@pytest.mark.parametrize("crashes", [1, 2])
@pytest.mark.parametrize("commit", ["after", "before"])
def test_all_features_off_is_exactly_the_reference_model(crashes, commit):
    kafka, pipeline = get_model("kafka"), get_model("pipeline")
    params = {"messages": 3, "max_crashes": crashes, "commit": commit}
    ref = kafka.build(params, ["crash"], [])
    if commit == "after":  # the published counts, unchanged
        assert explore(ref).states == REFERENCE[crashes]
    pipe = pipeline.build(params, ["crash"], _off(pipeline))
    assert pipe.params["replicas"] == 1 and pipe.params["retries"] == 0 and pipe.params["acks"] == "all"
    assert _projected_states(pipe) == _reference_states(ref)
