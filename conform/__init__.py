"""Conformance: the model's traces replayed on a real Kafka client, compared step by step.

Knows Kafka (confluent-kafka and librdkafka's in-process mock cluster; a real Apache Kafka
cluster and the Java consumer, conform/realcluster.py) and the checker
(traces, the registry, the explicit search); the checker does not know it: `python -m
checker conform` reaches it through the entry-point group `checker.commands`
(conform/command.py). See docs/conformance.md.
"""
