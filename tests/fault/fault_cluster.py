"""Three sluice-controller voters and three sluice-broker processes, each in its own network
namespace of a `Topology`, with the faults the suite injects: kill -9 and restart, SIGSTOP /
SIGCONT, and isolating a node's link. Every wait is bounded and says what it waited for."""
import contextlib
import os
import signal
import socket
import struct
import subprocess
import urllib.request

import cluster_wire  # puts tests/integration on the path
import harness

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD_DIR = os.environ.get("SLUICE_BUILD_DIR", os.path.join(REPO, "build"))
BROKER_BIN = os.path.join(BUILD_DIR, "broker", "sluice-broker")
CONTROLLER_BIN = os.path.join(BUILD_DIR, "controller", "service", "sluice-controller")

CONTROLLER_IDS = (3000, 3001, 3002)
BROKER_IDS = (1, 2, 3)
CONTROLLER_PORT, BROKER_PORT = 9093, 9092  # every node has an address of its own
ADMIN_PORT = 9644  # every node's admin listener (/readyz), on its own address

# Shortened timeouts, so a fault and its failover fit in seconds (see docs/fault-testing.md).
SESSION_TIMEOUT_MS = 3000
CONTROLLER_OVERRIDES = {
    "broker.session.timeout.ms": str(SESSION_TIMEOUT_MS),   # default 9000
    "leader.imbalance.check.interval.seconds": "10",        # default 300: leaderships move back within a run
}
BROKER_OVERRIDES = {
    "broker.heartbeat.interval.ms": "500",                  # default 2000
    "replica.lag.time.max.ms": "4000",                      # default 30000
    "replica.fetch.backoff.ms": "500",                      # default 1000
    "offsets.topic.num.partitions": "3",                    # default 50
    "group.initial.rebalance.delay.ms": "0",                # default 3000
}


def wait_until(condition, timeout, what, interval=0.05):
    """harness.wait_until, raising TimeoutError: a schedule that times out still reports what the
    cluster kept."""
    return harness.wait_until(condition, timeout, what, interval, error=TimeoutError)


def port_open(host, port, timeout=0.3):
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.settimeout(timeout)
        return s.connect_ex((host, port)) == 0


def node_names():
    return [f"controller-{c}" for c in CONTROLLER_IDS] + [f"broker-{b}" for b in BROKER_IDS]


def node_hosts():
    """The last byte of each node's address: controllers .11-.13, brokers .21-.23."""
    hosts = {f"controller-{c}": 11 + i for i, c in enumerate(CONTROLLER_IDS)}
    hosts.update({f"broker-{b}": 20 + b for b in BROKER_IDS})
    return hosts


class Node:
    def __init__(self, name, kind, node_id, address, port, argv, log_path):
        self.name, self.kind, self.node_id = name, kind, node_id
        self.address, self.port, self.argv, self.log_path = address, port, argv, log_path
        self.proc = None
        self.paused = False
        self.isolated = False
        self.expected_down = False  # killed on purpose: its exit is no finding

    def start(self):
        # Popen must run on the main thread: the node's parent-death signal follows the thread
        # that forked it (the runner never starts nodes from another thread).
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.expected_down = False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout=60):
        """SIGTERM, as Kubernetes stops a pod, and the wait for a clean exit."""
        self.expected_down = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{self.name} did not exit within {timeout}s of SIGTERM") from None
        if code != 0:
            raise RuntimeError(f"{self.name} exited with {code} after SIGTERM:\n{self.log_tail()}")

    def ready(self):
        """Its admin listener's /readyz answers 200."""
        try:
            with urllib.request.urlopen(f"http://{self.address}:{ADMIN_PORT}/readyz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def kill9(self):
        self.expected_down = True
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self.paused = False

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def faulted(self):
        """Unreachable or not running right now, as the fault schedule left it."""
        return self.paused or self.isolated or not self.alive()

    def unexpected_exit(self):
        """The exit code when the process died without being killed by the suite."""
        if self.proc is not None and not self.expected_down and self.proc.poll() is not None:
            return self.proc.returncode
        return None

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 64 * 1024))
                text = f.read().decode(errors="replace")
        except OSError as e:
            return f"(no log: {e})"
        return "\n".join(text.splitlines()[-lines:])


class FaultCluster:
    def __init__(self, topology, data_dir):
        self.topology, self.dir = topology, data_dir
        os.makedirs(data_dir, exist_ok=True)
        address = topology.address
        self.voters = ",".join(f"{c}@{address[f'controller-{c}']}:{CONTROLLER_PORT}" for c in CONTROLLER_IDS)
        self.controllers, self.brokers = {}, {}
        for c in CONTROLLER_IDS:
            name = f"controller-{c}"
            self.controllers[c] = Node(name, "controller", c, address[name], CONTROLLER_PORT, [
                *topology.exec_prefix(name), CONTROLLER_BIN,
                "--override", f"node.id={c}",
                "--override", f"listeners=CONTROLLER://{address[name]}:{CONTROLLER_PORT}",
                "--override", f"controller.quorum.voters={self.voters}",
                "--override", f"metadata.log.dir={data_dir}/{name}",
                "--override", f"admin.listeners=http://{address[name]}:{ADMIN_PORT}",
                *_overrides(CONTROLLER_OVERRIDES),
            ], f"{data_dir}/{name}.log")
        for b in BROKER_IDS:
            name = f"broker-{b}"
            self.brokers[b] = Node(name, "broker", b, address[name], BROKER_PORT, [
                *topology.exec_prefix(name), BROKER_BIN,
                "--override", f"node.id={b}",
                "--override", f"listeners=PLAINTEXT://{address[name]}:{BROKER_PORT}",
                "--override", f"controller.quorum.voters={self.voters}",
                "--override", f"log.dirs={data_dir}/{name}",
                "--override", f"admin.listeners=http://{address[name]}:{ADMIN_PORT}",
                *_overrides(BROKER_OVERRIDES),
            ], f"{data_dir}/{name}.log")

    @property
    def nodes(self):
        return [*self.controllers.values(), *self.brokers.values()]

    @property
    def bootstrap(self):
        return ",".join(f"{b.address}:{b.port}" for b in self.brokers.values())

    def start(self, timeout=60):
        for node in self.nodes:
            node.start()
        for broker in self.brokers.values():
            self.wait_listening(broker, timeout)
        self.quorum_leader(timeout=timeout)

    def wait_listening(self, node, timeout=60):
        def listening():
            if not node.alive():
                raise RuntimeError(f"{node.name} exited with {node.proc.returncode}:\n{node.log_tail()}")
            return port_open(node.address, node.port)
        wait_until(listening, timeout, f"{node.name} to listen on {node.address}:{node.port}")

    # --- what the cluster says ---------------------------------------------------------------

    def reachable_brokers(self, avoid=()):
        return [b for b in self.brokers.values() if not b.faulted() and b.node_id not in avoid]

    def metadata(self, topics, avoid=()):
        """Metadata v7 from the first healthy broker that answers, or None."""
        for broker in self.reachable_brokers(avoid):
            try:
                return cluster_wire.metadata(broker.address, broker.port, topics)
            except (OSError, AssertionError, ValueError, IndexError, struct.error):
                continue
        return None

    def quorum_state(self):
        for broker in self.reachable_brokers():
            try:
                state = cluster_wire.describe_quorum(broker.address, broker.port)
            except (OSError, AssertionError, IndexError, struct.error):
                continue
            if state is not None and state["leader_id"] >= 0:
                return state
        return None

    def quorum_leader(self, timeout=30, other_than=None):
        """The quorum's (leader id, epoch) as the brokers see it, once a leader is known."""
        def leader():
            state = self.quorum_state()
            if state is None or state["leader_id"] == other_than:
                return None
            return state["leader_id"], state["leader_epoch"]
        return wait_until(leader, timeout, f"a controller quorum leader (other than {other_than})")

    def partition_leaders(self, topic):
        state = self.metadata([topic])
        if state is None or topic not in state["topics"] or state["topics"][topic]["error"] != 0:
            return None
        return {p: info["leader"] for p, info in state["topics"][topic]["partitions"].items()}

    def healthy(self, topics, partitions):
        """Every partition of `topics` has a leader and its full replica set in sync."""
        state = self.metadata(list(topics))
        if state is None:
            return False
        for topic, count in zip(topics, partitions):
            info = state["topics"].get(topic)
            if info is None or info["error"] != 0 or len(info["partitions"]) != count:
                return False
            for p in info["partitions"].values():
                if p["leader"] < 0 or p["isr"] != p["replicas"]:
                    return False
        return True

    def unexpected_exits(self):
        return {n.name: code for n in self.nodes if (code := n.unexpected_exit()) is not None}

    # --- faults ------------------------------------------------------------------------------

    def isolate(self, node):
        self.topology.isolate(node.name)
        node.isolated = True

    def heal(self, node):
        self.topology.heal(node.name)
        node.isolated = False

    def restart(self, node, timeout=60):
        node.start()
        self.wait_listening(node, timeout)

    def heal_everything(self, timeout=60):
        """Ends every fault: links up, paused nodes continued, killed nodes started again."""
        self.topology.heal_all()
        for node in self.nodes:
            node.isolated = False
            if node.paused:
                node.resume()
        for node in self.nodes:
            if not node.alive():
                self.restart(node, timeout)

    def destroy(self):
        for node in self.nodes:
            node.resume()
            node.kill9()


def _overrides(values):
    return [arg for k, v in values.items() for arg in ("--override", f"{k}={v}")]
