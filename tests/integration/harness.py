"""Starts real sluice-controller and sluice-broker processes on loopback for integration tests.

Every cluster gets its own temporary directory and free ports; every wait is bounded and fails
with a message that says what was awaited. Binaries come from SLUICE_BUILD_DIR (set by CTest).
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BUILD_DIR = os.environ.get("SLUICE_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
BROKER_BIN = os.path.join(BUILD_DIR, "broker", "sluice-broker")
CONTROLLER_BIN = os.path.join(BUILD_DIR, "controller", "service", "sluice-controller")


# The client suites run against one broker and one controller by default;
# SLUICE_TEST_TOPOLOGY=3x3 runs them against three brokers and a three-voter quorum, and every
# topic they create (REPLICATION) or that is created for them gets three replicas.
TOPOLOGY = os.environ.get("SLUICE_TEST_TOPOLOGY", "1x1")
DEFAULT_BROKERS, DEFAULT_CONTROLLERS = (int(n) for n in TOPOLOGY.split("x"))
REPLICATION = min(3, DEFAULT_BROKERS)


def wait_until(condition, timeout, what, interval=0.05, error=AssertionError):
    """Polls `condition` until it returns a truthy value; raises `error` naming `what` after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise error(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port():
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Process:
    def __init__(self, name, argv, log_path):
        self.name, self.argv, self.log_path = name, argv, log_path
        self.proc = None
        self.paused = False

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        if not self.alive():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.name} did not stop within {timeout}s of SIGTERM")
        if self.proc.returncode != 0:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode} after SIGTERM; see {self.log_path}")

    def kill9(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def pause(self):
        """SIGSTOP: the process stays, but answers nothing until resume()."""
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        if self.paused and self.alive():
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Cluster:
    """A controller quorum (1, 3 or 5 voters) and N brokers; `bootstrap` lists the brokers'
    host:port. `controller` is the first voter (the only one by default)."""

    def __init__(self, brokers=None, broker_overrides=None, controller_overrides=None, controllers=None):
        brokers = DEFAULT_BROKERS if brokers is None else brokers
        controllers = DEFAULT_CONTROLLERS if controllers is None else controllers
        broker_overrides = {"default.replication.factor": str(min(REPLICATION, brokers)), **(broker_overrides or {})}
        self.dir = tempfile.mkdtemp(prefix="sluice-it-")
        self.controller_ports = [free_port() for _ in range(controllers)]
        self.controller_ids = [3000 + i for i in range(controllers)]
        self.controller_port = self.controller_ports[0]
        self.voters = ",".join(f"{node}@127.0.0.1:{port}" for node, port in zip(self.controller_ids, self.controller_ports))
        self.broker_ports = [free_port() for _ in range(brokers)]
        self.controllers = []
        for node, port in zip(self.controller_ids, self.controller_ports):
            self.controllers.append(Process(f"controller-{node}", [
                CONTROLLER_BIN,
                "--override", f"node.id={node}",
                "--override", f"listeners=CONTROLLER://127.0.0.1:{port}",
                "--override", f"controller.quorum.voters={self.voters}",
                "--override", f"metadata.log.dir={self.dir}/controller-{node}",
                *sum((["--override", f"{k}={v}"] for k, v in (controller_overrides or {}).items()), []),
            ], f"{self.dir}/controller-{node}.log"))
        self.controller = self.controllers[0]
        self.brokers = []
        for i, port in enumerate(self.broker_ports, start=1):
            self.brokers.append(Process(f"broker-{i}", [
                BROKER_BIN,
                "--override", f"node.id={i}",
                "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}",
                "--override", f"controller.quorum.voters={self.voters}",
                "--override", f"log.dirs={self.dir}/broker-{i}",
                *sum((["--override", f"{k}={v}"] for k, v in (broker_overrides or {}).items()), []),
            ], f"{self.dir}/broker-{i}.log"))

    def controller_index(self, node_id):
        return self.controller_ids.index(node_id)

    def describe_quorum(self, broker=0):
        """DescribeQuorum v2 through a broker (raw frames): the __cluster_metadata partition's
        state as a dict, or None while the broker cannot reach a quorum leader."""
        import kafka_wire
        try:
            response = kafka_wire.describe_quorum_v2(self.broker_ports[broker])
        except OSError:
            return None
        if response["error_code"] != 0:
            return None
        state = response["topics"][0]["partitions"][0]
        state["nodes"] = response["nodes"]
        return state

    def wait_for_quorum_leader(self, timeout=30, other_than=None, broker=0):
        """The node id of the controller leader the brokers reach, once it is not `other_than`."""
        def leader():
            state = self.describe_quorum(broker)
            if state is None or state["error_code"] != 0 or state["leader_id"] < 0:
                return None
            return None if state["leader_id"] == other_than else state["leader_id"]
        return wait_until(leader, timeout, f"a controller quorum leader other than {other_than}")

    @property
    def bootstrap(self):
        return ",".join(f"127.0.0.1:{p}" for p in self.broker_ports)

    def start(self):
        for controller in self.controllers:
            controller.start()
        for broker in self.brokers:
            broker.start()
        self.wait_ready()
        return self

    def start_broker(self, index=0):
        self.brokers[index].start()
        self.wait_broker_ready(index)

    def wait_broker_ready(self, index=0, timeout=30):
        broker = self.brokers[index]

        def ready():
            if not broker.alive():
                raise AssertionError(f"{broker.name} exited:\n{broker.log()[-3000:]}")
            return port_open(self.broker_ports[index])
        wait_until(ready, timeout, f"{broker.name} to listen on {self.broker_ports[index]}")

    def wait_ready(self, timeout=30):
        for i in range(len(self.brokers)):
            self.wait_broker_ready(i, timeout)

    def stop(self):
        for broker in self.brokers:
            broker.stop()
        for controller in self.controllers:
            controller.stop()

    def destroy(self):
        for process in [*self.brokers, *self.controllers]:
            process.resume()
            process.kill9()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.dump_logs()
            self.destroy()
            raise

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.stop()
            else:
                self.dump_logs()
        finally:
            self.destroy()

    def dump_logs(self):
        for process in [*self.controllers, *self.brokers]:
            if os.path.exists(process.log_path):
                print(f"---- {process.name} log (tail) ----\n{process.log()[-4000:]}")
