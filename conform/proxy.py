"""A loopback TCP proxy in front of a broker that can lose one response on cue.

Kafka's wire protocol frames every message with a 4-byte size; a request starts with
its API key, version and correlation id, a response with the correlation id. The proxy
forwards bytes both ways and reads only those headers: once armed with an API key
(e.g. 8, OffsetCommit), it notes the correlation id of the next such request, and when
the broker's response to it comes back, it drops the response and closes the client's
connection. The broker has done the work (the offset is stored); the client sees a
disconnect, as after a response lost in the network: the model's lost response, forced.

The broker advertises the proxy's port on a listener of its own (PROXIED), so a client
bootstrapped at the proxy keeps talking through it, and the other clients do not.

The produce gate (`gate_produce`, for the `pipeline` rows) holds every Produce request
at the proxy until the harness forwards or drops it, and then the broker's response the
same way, while the frames behind it on the connection go on (a second request in
flight reaches the proxy too); a dropped frame closes the connection, or with
`close=False` is swallowed alone: the model's Send (the request reached the proxy), Append (forwarded: the broker
writes), Ack (the response forwarded), LoseRequest and LoseResponse (dropped, and the
producer's connection closed) become steps the harness takes, not timings it waits for.
After a drop the proxy accepts no new connection until `open_gate()`, so the producer's
retry reaches the broker only at the model's Retry. Each held frame names the messages it
carries (`tag`, the message ids found in its bytes).

The gate also holds, once armed (`hold_next(END_TXN)`, for the `eos` rows' commit timeout),
the next request of another API key, e.g. the transactional producer's EndTxn on its
connection to the transaction coordinator: it waits at the proxy like a Produce request
until the harness forwards or drops it, with `hold_response` its response in turn. Held
frames are told apart by API key (`Held.key`), responses matched to their requests by
connection and correlation id (librdkafka numbers the requests of each connection).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Proxy", "Held", "END_TXN", "OFFSET_COMMIT", "PRODUCE"]

OFFSET_COMMIT = 8  # the OffsetCommit API key
PRODUCE = 0  # the Produce API key
END_TXN = 26  # the EndTxn API key (commitTransaction(), abortTransaction())


@dataclass(eq=False)
class Held:
    """A request (or its response) the gate holds until the harness decides: a Produce, or an armed key's."""

    kind: str  # "request" or "response"
    messages: frozenset[int]
    corr: int
    frame: bytes = b""
    src: socket.socket | None = None  # the connection it came from, and where it goes
    dst: socket.socket | None = None
    decided: threading.Event = field(default_factory=threading.Event)
    forward: bool = False
    key: int = PRODUCE  # the request's API key


class Proxy:
    def __init__(self, target_port: int, port: int = 0):
        self.target = ("127.0.0.1", target_port)
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", port))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self._lock = threading.Lock()
        self._armed: int | None = None  # the API key whose next response is lost
        self._victim: int | None = None  # the correlation id of that request
        self.lost = threading.Event()  # set when a response was dropped
        self._closed = False
        self._conns: list[socket.socket] = []
        # The produce gate: off until gate_produce(); its held frames, the correlation ids whose
        # responses it holds, and per message the last thing that happened to it at the proxy.
        self._gate_on = False
        self._tag: Callable[[bytes], frozenset[int]] = lambda frame: frozenset()
        self._held: list[Held] = []
        # the responses the gate holds: (the broker's socket, correlation id) -> API key, messages
        self._held_corr: dict[tuple[int, int], tuple[int, frozenset[int]]] = {}
        self._next: set[int] = set()  # the API keys whose next request the gate holds (hold_next)
        self.events: dict[int, str] = {}
        self._accepting = threading.Event()
        self._accepting.set()
        self._changed = threading.Condition(self._lock)
        self._send_locks: dict[int, threading.Lock] = {}
        threading.Thread(target=self._accept, name="conform-proxy", daemon=True).start()

    def lose_next_response(self, api_key: int) -> None:
        with self._lock:
            self._armed, self._victim = api_key, None
            self.lost.clear()

    # --------------------------------------------------------------- the produce gate
    def gate_produce(self, tag: Callable[[bytes], frozenset[int]]) -> None:
        """Hold every Produce request and response from now on (until reset_gate())."""
        with self._lock:
            self._gate_on, self._tag = True, tag
            self._held, self._held_corr, self.events, self._next = [], {}, {}, set()
        self._accepting.set()

    def hold_next(self, key: int) -> None:
        """With the gate on: hold the next request of API key `key` (e.g. END_TXN) as a Produce
        request is held, until decide() forwards or drops it."""
        with self._lock:
            if not self._gate_on:
                raise RuntimeError("hold_next() needs the gate on (gate_produce())")
            self._next.add(key)

    def reset_gate(self) -> None:
        """The gate off: whatever is held is forwarded, new connections accepted."""
        with self._lock:
            self._gate_on = False
            held, self._held = self._held, []
            self._held_corr, self._next = {}, set()
            for h in held:
                h.forward = True
                h.decided.set()
        for h in held:
            try:
                self._send(h.dst, h.frame)
            except OSError:
                pass
        self._accepting.set()

    def open_gate(self) -> None:
        """Accept connections again (after a drop closed the producer's)."""
        self._accepting.set()

    def held(self) -> list[Held]:
        with self._lock:
            return list(self._held)

    def wait_held(self, kind: str, message: int | None, timeout: float, key: int = PRODUCE) -> Held | None:
        """The held frame of `kind` and API `key` that carries `message` (None: any), once there
        is one (or None after `timeout`)."""
        end = time.monotonic() + timeout
        with self._changed:
            while True:
                for h in self._held:
                    if h.kind == kind and h.key == key and (message is None or message in h.messages):
                        return h
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)

    def decide(self, h: Held, forward: bool, hold_reconnect: bool = False, close: bool = True,
               hold_response: bool = True) -> None:
        """Forward the held frame (a request's response is then held in turn, unless not
        `hold_response`), or drop it: with `close`, the producer's connection is closed too
        (with `hold_reconnect` its reconnection then waits in the listen backlog until
        open_gate()); without, the frame alone is swallowed and the connection lives."""
        with self._lock:
            if h in self._held:
                self._held.remove(h)
            h.forward = forward
            if not forward and hold_reconnect:
                self._accepting.clear()
            for m in h.messages:
                self.events[m] = ("forwarded " if forward else "lost ") + h.kind
            if forward and h.kind == "request" and hold_response and h.dst is not None:
                self._held_corr[(id(h.dst), h.corr)] = (h.key, h.messages)  # its response is held in turn
            h.decided.set()
        if forward:
            try:
                self._send(h.dst, h.frame)
            except OSError:
                pass
        elif close:
            for sock in (h.src, h.dst):
                if sock is not None:
                    _shut(sock)

    def _send(self, sock: socket.socket | None, frame: bytes) -> None:
        if sock is None:
            return
        with self._lock:
            lock = self._send_locks.setdefault(id(sock), threading.Lock())
        with lock:  # the pump and the harness both write to a connection
            sock.sendall(frame)

    def _hold(self, h: Held) -> None:
        """Keep the frame until the harness decides (decide() sends or drops it); the
        connection goes on with the frames behind it."""
        with self._changed:
            self._held.append(h)
            for m in h.messages:
                self.events[m] = "held " + h.kind
            self._changed.notify_all()

    def _accept(self) -> None:
        while not self._closed:
            self._accepting.wait()  # closed after a drop: connections wait in the listen backlog
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                broker = socket.create_connection(self.target, timeout=10)
                broker.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, broker]
            threading.Thread(target=self._pump, args=(client, broker, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(broker, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, requests: bool) -> None:
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                buf += data
                while len(buf) >= 4:
                    size = struct.unpack(">i", buf[:4])[0]
                    if len(buf) < 4 + size:
                        break
                    frame, buf = buf[:4 + size], buf[4 + size:]
                    if requests:
                        key, _, corr = struct.unpack(">hhi", frame[4:12])
                        with self._lock:
                            if self._armed == key and self._victim is None:
                                self._victim = corr
                            gated = self._gate_on and (key == PRODUCE or key in self._next)
                            self._next.discard(key)
                            tags = self._tag(frame) if gated and key == PRODUCE else frozenset()
                        if gated:
                            self._hold(Held("request", tags, corr, frame, src, dst, key=key))
                            continue
                    else:
                        corr = struct.unpack(">i", frame[4:8])[0]
                        with self._lock:
                            drop = self._victim is not None and corr == self._victim
                            if drop:
                                self._armed = self._victim = None
                            held = self._held_corr.pop((id(src), corr), None) if self._gate_on else None
                        if drop:  # the broker answered; the client never hears it
                            self.lost.set()
                            raise ConnectionAbortedError
                        if held is not None:
                            self._hold(Held("response", held[1], corr, frame, src, dst, key=held[0]))
                            continue
                    self._send(dst, frame)
        except OSError:
            pass
        finally:
            for s in (src, dst):  # shutdown() first: it wakes the other direction's recv() and sends the FIN
                _shut(s)

    def close(self) -> None:
        self._closed = True
        self.reset_gate()
        try:
            self.server.close()
        except OSError:
            pass
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            _shut(s)


def _shut(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
