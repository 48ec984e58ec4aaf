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
"""

from __future__ import annotations

import socket
import struct
import threading

__all__ = ["Proxy", "OFFSET_COMMIT"]

OFFSET_COMMIT = 8  # the OffsetCommit API key


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
        threading.Thread(target=self._accept, name="conform-proxy", daemon=True).start()

    def lose_next_response(self, api_key: int) -> None:
        with self._lock:
            self._armed, self._victim = api_key, None
            self.lost.clear()

    def _accept(self) -> None:
        while not self._closed:
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
                    else:
                        corr = struct.unpack(">i", frame[4:8])[0]
                        with self._lock:
                            drop = self._victim is not None and corr == self._victim
                            if drop:
                                self._armed = self._victim = None
                        if drop:  # the broker answered; the client never hears it
                            self.lost.set()
                            raise ConnectionAbortedError
                    dst.sendall(frame)
        except OSError:
            pass
        finally:
            for s in (src, dst):  # shutdown() first: it wakes the other direction's recv() and sends the FIN
                _shut(s)

    def close(self) -> None:
        self._closed = True
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
