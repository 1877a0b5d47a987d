"""Failover clocks, each started the instant a fault is injected and polling every ~50 ms.

Broker: until metadata (from a broker that is not faulted) shows every partition of the topic
led by a broker that is not faulted. `by_election` tells whether that happened while the victim
was still down (the controller moved its leaderships) or only once it was back.

Controller: until a broker names a quorum leader of a newer epoch that is not faulted, and then
until an admin write (CreateTopics of a one-partition probe topic) succeeds.
"""
import threading
import time

from confluent_kafka.admin import AdminClient, NewTopic

POLL_INTERVAL = 0.05


class BrokerFailover(threading.Thread):
    def __init__(self, cluster, topic, victim, started, cancelled, timeout=60):
        super().__init__(name=f"broker-failover-{victim.node_id}", daemon=True)
        self.cluster, self.topic, self.victim, self.started, self.timeout = cluster, topic, victim, started, timeout
        self.cancelled = cancelled
        self.seconds = None
        self.by_election = None
        self.error = None

    def run(self):
        while time.monotonic() - self.started < self.timeout and not self.cancelled.is_set():
            leaders = self.cluster.partition_leaders(self.topic)
            down = {b.node_id for b in self.cluster.brokers.values() if b.faulted()}
            if leaders and all(leader >= 0 and leader not in down for leader in leaders.values()):
                self.seconds = time.monotonic() - self.started
                self.by_election = self.victim.faulted()
                return
            time.sleep(POLL_INTERVAL)
        if self.cancelled.is_set():
            return
        self.error = (f"partitions of {self.topic} not all led by live brokers within {self.timeout}s "
                      f"of the fault on {self.victim.name} (last: {self.cluster.partition_leaders(self.topic)})")


class ControllerFailover(threading.Thread):
    def __init__(self, cluster, victim, epoch, started, probe_topic, logger, cancelled, timeout=60):
        super().__init__(name=f"controller-failover-{victim.node_id}", daemon=True)
        self.cluster, self.victim, self.epoch, self.started = cluster, victim, epoch, started
        self.cancelled = cancelled
        self.probe_topic, self.logger, self.timeout = probe_topic, logger, timeout
        self.leader_seconds = None
        self.write_seconds = None
        self.new_leader = None
        self.error = None

    def run(self):
        while self.leader_seconds is None:
            if self.cancelled.is_set():
                return
            if time.monotonic() - self.started >= self.timeout:
                self.error = f"no new controller leader within {self.timeout}s of the fault on {self.victim.name}"
                return
            state = self.cluster.quorum_state()
            leader = state and self.cluster.controllers.get(state["leader_id"])
            if leader is not None and state["leader_epoch"] > self.epoch and not leader.faulted():
                self.leader_seconds = time.monotonic() - self.started
                self.new_leader = state["leader_id"]
            else:
                time.sleep(POLL_INTERVAL)
        admin = AdminClient({"bootstrap.servers": self.cluster.bootstrap, "reconnect.backoff.max.ms": 500,
                             "logger": self.logger})
        last = None
        while time.monotonic() - self.started < self.timeout and not self.cancelled.is_set():
            future = admin.create_topics([NewTopic(self.probe_topic, 1, 1)], operation_timeout=5, request_timeout=6)
            try:
                future[self.probe_topic].result(timeout=8)
                self.write_seconds = time.monotonic() - self.started
                return
            except Exception as e:  # a retriable refusal while the quorum settles: try again
                last = e
                if "TOPIC_ALREADY_EXISTS" in str(e):  # an earlier attempt did commit
                    self.write_seconds = time.monotonic() - self.started
                    return
            time.sleep(POLL_INTERVAL)
        self.error = f"no admin write succeeded within {self.timeout}s of the fault on {self.victim.name}: {last}"
