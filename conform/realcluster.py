"""A real Apache Kafka cluster the harness starts itself, and the Java client as a driven peer.

The jars come from Maven Central: `conform/kafka/pom.xml` pins one Kafka version
(KAFKA_VERSION) and `mvn dependency:copy-dependencies` resolves the broker
(`org.apache.kafka:kafka_2.13`), the Java client (`kafka-clients`) and their
dependencies into a cache folder (`.cache/kafka-VERSION/` in the checkout,
$CONFORM_KAFKA_CACHE, or the user's cache folder for an installed package), where
`conform/kafka/Conform.java` is compiled against them.
`runtime()` fills a missing cache (`./setup.sh --test` does it ahead of time).

`KafkaCluster` runs that Kafka in KRaft mode on 127.0.0.1 with free ports: one node
that is broker and controller, or (brokers > 1) a controller and that many brokers,
each a JVM with a small heap, in its own process group, killed with the harness
(PR_SET_PDEATHSIG), at exit, on Ctrl-C (checker/interrupt.py) and by `stop()`. Storage
is formatted first (kafka.tools.StorageTool, as `kafka-storage.sh format`); start and
readiness are bounded in time (START_TIMEOUT). Each node logs to a file in the
cluster's folder, which `stop(keep_logs=True)` keeps (and names) for a failed run. A
broker can be paused (SIGSTOP), resumed, shut down (SIGTERM, a controlled shutdown),
killed (kill -9) and restarted; `controller_config` sets the controller's own settings
(e.g. broker.session.timeout.ms).

`JavaConsumerProcess` is one Java KafkaConsumer in its own JVM (`Conform consumer`),
driven over the same line protocol as conform/worker.py, so kill() is a real kill -9.
"""

from __future__ import annotations

import atexit
import base64
import ctypes
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any

from checker import CheckerError, interrupt

from .cluster import ClientFailure, ConsumerProcess

__all__ = ["KAFKA_VERSION", "Runtime", "runtime", "have_tools", "KafkaCluster", "JavaConsumerProcess"]

KAFKA_VERSION = "4.1.1"  # the same as conform/kafka/pom.xml's kafka.version
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
START_TIMEOUT = 90.0  # seconds a cluster may take from format to every broker serving metadata
RESOLVE_TIMEOUT = 900.0  # seconds Maven may take to download the jars (about 45 MB)
NODE_HEAP = "-Xmx256m"
CLIENT_HEAP = "-Xmx96m"
JVM_FLAGS = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-Djava.awt.headless=true"]


@dataclass(frozen=True)
class Runtime:
    """The resolved jars and the compiled harness class: what every JVM here runs with."""

    lib: str
    classes: str

    @property
    def classpath(self) -> str:
        return os.path.join(self.lib, "*") + os.pathsep + self.classes


def cache_dir() -> str:
    """$CONFORM_KAFKA_CACHE, else .cache/ in the checkout, else (an installed wheel) the user's cache."""
    if os.environ.get("CONFORM_KAFKA_CACHE"):
        return os.environ["CONFORM_KAFKA_CACHE"]
    if os.path.isfile(os.path.join(ROOT, "pyproject.toml")):
        return os.path.join(ROOT, ".cache", f"kafka-{KAFKA_VERSION}")
    user = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(user, "kafka-semantics-checker", f"kafka-{KAFKA_VERSION}")


def have_tools() -> str | None:
    """Why the real cluster cannot run here (no java, javac or mvn), or None."""
    missing = [t for t in ("java", "javac") if shutil.which(t) is None]
    if missing:
        return f"no {' or '.join(missing)} on PATH (the real-cluster backend needs Java 17 or later)"
    if not os.path.isfile(os.path.join(cache_dir(), "lib", f"kafka-clients-{KAFKA_VERSION}.jar")) \
            and shutil.which("mvn") is None:
        return "no mvn on PATH and the Kafka jars are not in the cache (Maven resolves them once)"
    return None


def runtime() -> Runtime:
    """The cache, filled when missing: jars resolved by Maven, Conform.java compiled.

    A missing tool or a failed resolution is a CheckerError (one line, exit 2)."""
    why = have_tools()
    if why is not None:
        raise CheckerError(f"conform --backend kafka: {why}")
    base = cache_dir()
    lib = os.path.join(base, "lib")
    source = os.path.join(HERE, "kafka", "Conform.java")
    if not os.path.isfile(os.path.join(lib, f"kafka-clients-{KAFKA_VERSION}.jar")):
        print(f"conform: resolving Apache Kafka {KAFKA_VERSION} with Maven into {lib} (once)", file=sys.stderr)
        os.makedirs(base, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix="lib.tmp-", dir=base)
        try:
            _run(["mvn", "-q", "-B", "-f", os.path.join(HERE, "kafka", "pom.xml"), "dependency:copy-dependencies",
                  f"-DoutputDirectory={tmp}"], RESOLVE_TIMEOUT, "resolving the Kafka jars with Maven")
            shutil.rmtree(lib, ignore_errors=True)
            os.replace(tmp, lib)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    # One folder per version of the source, so a run never sees another one's class swapped in.
    with open(source, "rb") as f:
        classes = os.path.join(base, "classes-" + hashlib.sha256(f.read()).hexdigest()[:12])
    if not os.path.isfile(os.path.join(classes, "Conform.class")):
        tmp = tempfile.mkdtemp(prefix="classes.tmp-", dir=base)
        try:
            _run(["javac", "-nowarn", "-encoding", "UTF-8", "-d", tmp, "-cp", os.path.join(lib, "*"), source], 120,
                 "compiling conform/kafka/Conform.java")
            os.replace(tmp, classes)
        except OSError:  # another run compiled the same source meanwhile
            pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return Runtime(lib, classes)


def _run(cmd: list[str], timeout: float, what: str) -> None:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CheckerError(f"conform: {what} took more than {timeout:g} s") from None
    if r.returncode != 0:
        last = (r.stdout + r.stderr).strip().splitlines()
        raise CheckerError(f"conform: {what} failed: {last[-1] if last else f'exit {r.returncode}'}")


def _die_with_parent() -> None:
    """In the child before exec: its own process group, SIGKILL when the harness dies (Linux)."""
    os.setpgrp()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


_LIVE: set[subprocess.Popen] = set()


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass
    _LIVE.discard(proc)
    interrupt.release(proc)


@atexit.register
def _kill_all() -> None:
    for p in list(_LIVE):
        _kill(p)


def _spawn(cmd: list[str], **kw: Any) -> subprocess.Popen:
    if cmd[0] == "java":  # the JVM's temporary folder is the harness's (it names the run's JVMs too)
        cmd = [cmd[0], f"-Djava.io.tmpdir={tempfile.gettempdir()}", *cmd[1:]]
    proc = subprocess.Popen(cmd, preexec_fn=_die_with_parent, **kw)
    _LIVE.add(proc)
    interrupt.adopt(proc)  # Ctrl-C on the command kills it (checker/interrupt.py)
    return proc


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (bound, read, released together)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


LOG4J = """status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
"""


@dataclass
class Node:
    node_id: int
    roles: str  # "broker,controller", "controller" or "broker"
    port: int  # the client listener (0 for a controller alone)
    cport: int  # the controller listener (0 for a broker alone)
    dir: str
    proc: subprocess.Popen | None = None
    paused: bool = False

    @property
    def props(self) -> str:
        return os.path.join(self.dir, "server.properties")

    @property
    def log(self) -> str:
        return os.path.join(self.dir, "logs", "server.log")


class KafkaCluster:
    """Apache Kafka in KRaft mode on 127.0.0.1: `brokers` brokers and one controller.

    Use as a context manager, or start() and stop(). `config` adds broker settings
    (e.g. {"offsets.retention.minutes": "1"}); every setting is written to each node's
    server.properties, which stays with its log in the cluster's folder.
    """

    def __init__(self, brokers: int = 1, config: dict[str, str] | None = None, rt: Runtime | None = None,
                 proxied: bool = False, controller_config: dict[str, str] | None = None):
        if brokers < 1:
            raise ValueError("a cluster has at least one broker")
        self.rt = rt or runtime()
        self.brokers = brokers
        self.config = dict(config or {})
        self.controller_config = dict(controller_config or {})  # e.g. broker.session.timeout.ms
        self.dir = tempfile.mkdtemp(prefix="conform-kafka-")
        ports = free_ports(2 * brokers + 3)
        # proxied (one broker): a second client listener, PROXIED, advertised at a loopback
        # proxy's port (conform/proxy.py), so a client bootstrapped there stays behind the proxy.
        self.proxied = (ports[-2], ports[-1]) if proxied and brokers == 1 else None
        if brokers == 1:
            self.nodes = [Node(1, "broker,controller", ports[0], ports[1], os.path.join(self.dir, "node-1"))]
        else:
            self.nodes = [Node(1, "controller", 0, ports[0], os.path.join(self.dir, "node-1"))]
            self.nodes += [Node(1 + b, "broker", ports[b], 0, os.path.join(self.dir, f"node-{1 + b}"))
                           for b in range(1, brokers + 1)]
        self.started = False

    # --------------------------------------------------------------- start and stop
    @property
    def broker_nodes(self) -> list[Node]:
        return [n for n in self.nodes if "broker" in n.roles]

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.broker_nodes)

    def _write(self, n: Node, voters: str) -> None:
        os.makedirs(os.path.join(n.dir, "logs"), exist_ok=True)
        replication = str(min(3, self.brokers))
        listeners, protocols = [], ["CONTROLLER:PLAINTEXT", "PLAINTEXT:PLAINTEXT"]
        if n.port:
            listeners.append(f"PLAINTEXT://127.0.0.1:{n.port}")
        if n.cport:
            listeners.append(f"CONTROLLER://127.0.0.1:{n.cport}")
        advertised = [x for x in listeners if not x.startswith("CONTROLLER")]
        if self.proxied and n.port:
            listeners.append(f"PROXIED://127.0.0.1:{self.proxied[0]}")
            advertised.append(f"PROXIED://127.0.0.1:{self.proxied[1]}")
            protocols.append("PROXIED:PLAINTEXT")
        conf = {
            "process.roles": n.roles, "node.id": str(n.node_id), "controller.quorum.voters": voters,
            "listeners": ",".join(listeners), "advertised.listeners": ",".join(advertised),
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": ",".join(protocols), "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": os.path.join(n.dir, "data"),
            "num.partitions": "1", "default.replication.factor": replication,
            "offsets.topic.replication.factor": replication, "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": replication, "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1", "share.coordinator.state.topic.replication.factor": replication,
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0", "auto.create.topics.enable": "false",
            # KIP-848 groups: heartbeats every 500 ms (default 5 s), so a rebalance takes about a second
            "group.consumer.heartbeat.interval.ms": "500", "group.consumer.min.heartbeat.interval.ms": "500",
            "num.network.threads": "2", "num.io.threads": "2", "background.threads": "2",
            "log.flush.interval.messages": "1", "unstable.api.versions.enable": "false",
            # the coordinator checks for timed-out transactions every 100 ms (default 10 s), so a trace's
            # short transaction.timeout.ms (conform/eos.py, txn-timeout) fires within 0.1 s of expiring
            "transaction.abort.timed.out.transaction.cleanup.interval.ms": "100",
        }
        if "broker" not in n.roles:
            conf = {k: v for k, v in conf.items() if k.split(".")[0] in ("process", "node", "controller", "listeners",
                                                                         "listener", "log")}
        else:
            conf.update(self.config)
        if "controller" in n.roles:
            conf.update(self.controller_config)
        with open(n.props, "w") as f:
            f.writelines(f"{k}={v}\n" for k, v in conf.items())
        with open(os.path.join(n.dir, "log4j2.properties"), "w") as f:
            f.write(LOG4J)

    def start(self) -> "KafkaCluster":
        """Format every node's storage, start the JVMs, wait until each broker serves metadata."""
        ctrl = [n for n in self.nodes if "controller" in n.roles]
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.cport}" for n in ctrl)
        for n in self.nodes:
            self._write(n, voters)
        end = time.monotonic() + START_TIMEOUT
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        fmt = os.path.join(self.dir, "format.log")
        with open(fmt, "w") as out:
            proc = _spawn(["java", CLIENT_HEAP, *JVM_FLAGS, f"-Dlog4j2.configurationFile="
                           f"{os.path.join(self.nodes[0].dir, 'log4j2.properties')}",
                           f"-Dkafka.logs.dir={self.dir}", "-cp", self.rt.classpath, "Conform", "format",
                           cluster_id, *(n.props for n in self.nodes)], stdout=out, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL)
            try:
                rc = proc.wait(max(1.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                rc = None
            finally:
                _kill(proc)
        if rc != 0:
            with open(fmt, errors="replace") as f:
                last = [x.strip() for x in f if x.strip()][-1:] or ["no output"]
            raise ClientFailure(f"formatting the KRaft storage failed ({'timed out' if rc is None else f'exit {rc}'}:"
                                f" {last[0][:200]}); see {fmt}")
        self.started = True
        for n in self.nodes:
            self._launch(n)
        self.wait_ready(end)
        return self

    def _launch(self, n: Node) -> None:
        out = open(os.path.join(n.dir, "logs", "stdout.log"), "ab")
        try:
            n.proc = _spawn(["java", NODE_HEAP, "-Xms64m", *JVM_FLAGS,
                             f"-Dlog4j2.configurationFile={os.path.join(n.dir, 'log4j2.properties')}",
                             f"-Dkafka.logs.dir={os.path.join(n.dir, 'logs')}",
                             "-cp", self.rt.classpath, "kafka.Kafka", n.props],
                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            out.close()
        n.paused = False

    def wait_ready(self, end: float | None = None, brokers: list[Node] | None = None) -> None:
        """Until every (given) broker answers a metadata request listing them all, or ClientFailure."""
        from .cluster import import_client, quiet_logger

        ck = import_client()
        from confluent_kafka.admin import AdminClient

        end = end if end is not None else time.monotonic() + START_TIMEOUT
        want = {n.node_id for n in (brokers if brokers is not None else self.broker_nodes)}
        while True:
            for n in self.nodes:
                if n.proc is not None and n.proc.poll() is not None and not n.paused:
                    raise ClientFailure(f"Kafka node {n.node_id} exited with {n.proc.returncode} while starting; "
                                        f"see {n.log}")
            left = end - time.monotonic()
            if left <= 0:
                raise ClientFailure(f"the Kafka cluster was not ready within {START_TIMEOUT:g} s; see {self.dir}")
            try:
                admin = AdminClient({"bootstrap.servers": self.bootstrap, "logger": quiet_logger()})
                md = admin.list_topics(timeout=min(5.0, left))
                if want <= set(md.brokers):
                    return
            except ck.KafkaException:
                pass
            time.sleep(0.2)

    def stop(self, keep_logs: bool = False) -> str | None:
        """Kill every JVM (kill -9: nothing of a stopped cluster is observed any more), reap it,
        and remove the folder unless `keep_logs`; returns the folder kept."""
        for n in self.nodes:
            if n.proc is not None:
                _kill(n.proc)
                n.proc = None
        if keep_logs:
            return self.dir
        shutil.rmtree(self.dir, ignore_errors=True)
        return None

    def __enter__(self) -> "KafkaCluster":
        return self.start() if not self.started else self

    def __exit__(self, kind, value, tb) -> None:
        kept = self.stop(keep_logs=kind is not None)
        if kept:
            print(f"conform: the Kafka cluster's logs are kept in {kept}", file=sys.stderr)

    # --------------------------------------------------------------- faults (pipeline rows)
    def node(self, node_id: int) -> Node:
        return next(n for n in self.nodes if n.node_id == node_id)

    def pause(self, node_id: int) -> None:
        """SIGSTOP: the broker stops at once, its sockets stay open (a follower held back)."""
        n = self.node(node_id)
        assert n.proc is not None
        os.killpg(n.proc.pid, signal.SIGSTOP)
        n.paused = True
        end = time.monotonic() + 5.0  # the signal is delivered asynchronously: wait until it is stopped
        while _state(n.proc.pid) not in ("T", "t") and time.monotonic() < end:
            time.sleep(0.01)
        if _state(n.proc.pid) not in ("T", "t"):
            raise ClientFailure(f"Kafka node {node_id} did not stop on SIGSTOP within 5 s")

    def resume(self, node_id: int) -> None:
        n = self.node(node_id)
        assert n.proc is not None
        os.killpg(n.proc.pid, signal.SIGCONT)
        n.paused = False

    def kill(self, node_id: int) -> None:
        """kill -9 of one node: what it had not written to its log is gone."""
        n = self.node(node_id)
        if n.proc is not None:
            _kill(n.proc)
            n.proc = None

    def shutdown(self, node_id: int, timeout: float = START_TIMEOUT) -> None:
        """SIGTERM: the broker's controlled shutdown (leadership handed over), then its exit, reaped."""
        n = self.node(node_id)
        if n.proc is None:
            return
        os.killpg(n.proc.pid, signal.SIGTERM)
        try:
            n.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ClientFailure(f"Kafka node {node_id} did not shut down within {timeout:g} s") from None
        finally:
            self.kill(node_id)

    def restart(self, node_id: int) -> None:
        n = self.node(node_id)
        self.kill(node_id)
        self._launch(n)


def _state(pid: int) -> str:
    """The process's state letter from /proc (R, S, T stopped, Z, ...); "" when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


class JavaConsumerProcess(ConsumerProcess):
    """One Java KafkaConsumer in its own JVM (conform/kafka/Conform.java), same line protocol."""

    def __init__(self, rt: Runtime, bootstrap: str, conf: dict[str, Any], topic: str, partition: int,
                 log: str | None = None):
        err = open(log, "ab") if log else subprocess.DEVNULL
        try:
            self.proc = _spawn(["java", CLIENT_HEAP, *JVM_FLAGS, "-Dslf4j.internal.verbosity=ERROR",
                                "-Dlog4j2.level=WARN", "-cp", rt.classpath, "Conform", "consumer"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
        finally:
            if log:
                err.close()
        try:
            self.call("start", conf={"bootstrap.servers": bootstrap, **conf}, topic=topic, partition=partition)
        except BaseException:
            self.kill()
            raise

    def kill(self) -> None:
        super().kill()
        _LIVE.discard(self.proc)

    def close(self) -> None:
        super().close()
        _LIVE.discard(self.proc)
