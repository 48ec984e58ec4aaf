"""The broker's log segment files read directly: the records of a partition as the broker wrote them.

The real-broker drivers (conform/pipeline.py, conform/eos.py) observe a replica's log,
the transaction markers and __consumer_offsets this way, since no client API shows a
follower's log or a record's producer id and marker.
"""

from __future__ import annotations

import os
import struct
from typing import Any

__all__ = ["read_uvarint", "read_varint", "read_batches"]


def read_uvarint(b: bytes, i: int) -> tuple[int, int]:
    """An unsigned varint at b[i:]; the value and the next index."""
    shift = n = 0
    while True:
        byte = b[i]
        i += 1
        n |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return n, i


def read_varint(b: bytes, i: int) -> tuple[int, int]:
    """A zigzag varint (Kafka's record fields) at b[i:]; the value and the next index."""
    raw, i = read_uvarint(b, i)
    return (raw >> 1) ^ -(raw & 1), i


def read_batches(folder: str) -> list[dict[str, Any]]:
    """Every record of a partition's log segments (record batches, magic 2) with its batch's
    producer id and flags.

    Each item: offset, producer (id, -1 for none), transactional, control, key, value. The
    broker writes each batch whole before it answers, and truncation cuts whole batches, so
    a read between steps sees complete batches; a torn tail is ignored."""
    out: list[dict[str, Any]] = []
    if not os.path.isdir(folder):
        return out
    for name in sorted(f for f in os.listdir(folder) if f.endswith(".log")):
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        i = 0
        while i + 61 <= len(data):
            base, length = struct.unpack(">qi", data[i:i + 12])
            end = i + 12 + length
            if length <= 0 or end > len(data):
                break
            attributes = struct.unpack(">h", data[i + 21:i + 23])[0]
            producer = struct.unpack(">q", data[i + 43:i + 51])[0]
            count = struct.unpack(">i", data[i + 57:i + 61])[0]
            j = i + 61
            for _ in range(count):
                size, j = read_varint(data, j)
                k = j + 1  # the record's attributes byte
                _, k = read_varint(data, k)  # timestamp delta
                delta, k = read_varint(data, k)
                klen, k = read_varint(data, k)
                key = data[k:k + max(klen, 0)]
                k += max(klen, 0)
                vlen, k = read_varint(data, k)
                out.append({"offset": base + delta, "producer": producer, "transactional": bool(attributes & 0x10),
                            "control": bool(attributes & 0x20), "key": key, "value": data[k:k + max(vlen, 0)]})
                j += size
            i = end
    return out
