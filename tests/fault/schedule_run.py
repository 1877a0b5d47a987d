"""Runs one fault schedule against a fresh 3-controller + 3-broker cluster: starts it, runs the
workload, injects the faults, heals everything, waits until the cluster is whole again, reads
every partition and hands it all to the checker.

The only sleeps are the schedule's own timed phases (the gap before a fault, how long a fault
lasts, the unfaulted tail after the last one); every wait for the cluster is bounded and says
what it waited for."""
import hashlib
import glob
import os
import threading
import time
import traceback

from confluent_kafka.admin import AdminClient, NewTopic

import checker
import failover
import schedule
import workload
from fault_cluster import FaultCluster, wait_until

TOPIC, PARTITIONS = "fault", 6
GROUP = "fault-group"
OFFSETS_TOPIC, OFFSETS_PARTITIONS = "__consumer_offsets", 3  # offsets.topic.num.partitions
PRODUCERS, KEYS_PER_PRODUCER, RECORDS_PER_SECOND = 3, 8, 80
MEMBERS = 2
TAIL_SECONDS = 3.0  # unfaulted running after the last fault, part of every schedule


class Timeline:
    """The schedule's events, relative to its start; also written among the clients' log lines
    so that those can be read against the faults."""

    def __init__(self, logger):
        self.start = time.monotonic()
        self.events = []
        self.logger = logger

    def add(self, text, at=None):
        self.events.append((round((at or time.monotonic()) - self.start, 2), text))
        self.logger.warning("FAULT-SUITE +%.2fs %s", self.events[-1][0], text)

    def lines(self):
        return [f"  +{t:7.2f}s  {text}" for t, text in self.events]


class ScheduleRun:
    """`seed` picks a random schedule; `rolling` runs the rolling restart instead (seed 0)."""

    def __init__(self, seed, topology, data_dir, rolling=False):
        self.cluster = FaultCluster(topology, data_dir)
        self.seed = seed
        self.faults = (schedule.rolling_restart(len(self.cluster.brokers), len(self.cluster.controllers)) if rolling
                       else schedule.generate(seed))
        self.restarts = []  # rolling restarts: node and seconds until it was ready again
        self.logger = workload.client_logger(os.path.join(data_dir, "clients.log"))
        self.timeline = Timeline(self.logger)
        self.verdict = checker.Verdict()
        self.broker_failovers, self.controller_failovers = [], []
        self.probes = []
        self.stop_producers, self.stop_group = threading.Event(), threading.Event()
        self.cancel_probes = threading.Event()
        self.producers, self.members = [], []

    # --- the run -----------------------------------------------------------------------------

    def run(self):
        try:
            self._start()
            for index, fault in enumerate(self.faults):
                time.sleep(fault.gap)  # the schedule's own timing: normal running before the fault
                self._note_crashes()
                self._inject(index, fault)
            time.sleep(TAIL_SECONDS)  # the schedule's own timing: unfaulted running at the end
            self._finish()
        except Exception:
            self.verdict.add("harness", traceback.format_exc().strip().splitlines()[-1])
            self.timeline.add("run aborted: " + traceback.format_exc().strip().splitlines()[-1])
            self.harness_traceback = traceback.format_exc()
        finally:
            self._stop_clients()
            self._note_crashes()
            self.cluster.destroy()
            self.cluster.topology.heal_all()
            workload.close_logger(self.logger)
        return self.result()

    def _stop_clients(self, timeout=60):
        """Every client thread of this schedule ends here: the next schedule's cluster takes the
        same addresses, and a straggler would write into it."""
        self.cancel_probes.set()
        self.stop_producers.set()
        self.stop_group.set()
        for p in self.producers:
            p.abandon.set()
        threads = [*self.producers, *self.members, *(probe for _, _, probe in self.probes)]
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            raise RuntimeError(f"client threads {stuck} still running {timeout}s after the schedule ended; "
                               "stopping, as the next schedule could not be told apart from them")

    def _start(self):
        self.cluster.topology.heal_all()
        self.cluster.start()
        leader, _ = self.cluster.quorum_leader()
        self.timeline.add(f"cluster up, controller {leader} leads the quorum")
        admin = AdminClient({"bootstrap.servers": self.cluster.bootstrap, "logger": self.logger})
        topic = NewTopic(TOPIC, PARTITIONS, 3, config={"min.insync.replicas": "2"})
        admin.create_topics([topic], operation_timeout=30, request_timeout=40)[TOPIC].result(60)
        wait_until(lambda: self.cluster.healthy([TOPIC], [PARTITIONS]), 60,
                   f"every partition of {TOPIC} led with 3 in-sync replicas")
        for p in range(PRODUCERS):
            self.producers.append(workload.ProducerWorker(p, self.cluster.bootstrap, TOPIC, KEYS_PER_PRODUCER,
                                                          RECORDS_PER_SECOND, self.stop_producers, self.logger))
        for m in range(MEMBERS):
            self.members.append(workload.GroupMember(m, self.cluster.bootstrap, TOPIC, PARTITIONS, GROUP,
                                                     self.stop_group, self.logger))
        for worker in [*self.producers, *self.members]:
            worker.start()

        def warmed_up():
            return (all(p.acked_count() >= 20 for p in self.producers)
                    and all(m.assignment and m.fetches for m in self.members))
        wait_until(warmed_up, 60, "every producer acknowledged and both group members assigned and committing")
        self.timeline.add(f"workload running: leaders {self.cluster.partition_leaders(TOPIC)}")

    def _inject(self, index, fault):
        if fault.kind.startswith("restart_"):
            self._rolling_restart(fault)
        elif fault.kind.endswith("broker"):
            self._broker_fault(fault)
        else:
            self._controller_fault(index, fault)

    def _rolling_restart(self, fault):
        nodes = self.cluster.brokers if fault.kind == "restart_broker" else self.cluster.controllers
        victim = nodes[sorted(nodes)[int(fault.pick * len(nodes))]]
        started = time.monotonic()
        victim.terminate()
        stopped = time.monotonic()
        victim.start()
        wait_until(victim.ready, 120, f"{victim.name} ready again (/readyz) after its restart", interval=0.1)
        ready = time.monotonic()
        self.restarts.append({"node": victim.name, "stop_seconds": round(stopped - started, 2),
                              "ready_seconds": round(ready - stopped, 2)})
        self.timeline.add(f"SIGTERM {victim.name}: exited after {stopped - started:.2f}s, ready again "
                          f"{ready - stopped:.2f}s after its start", started)

    def _broker_fault(self, fault):
        def leaders():
            led = self.cluster.partition_leaders(TOPIC)
            return led and {b for b in led.values() if b >= 0 and not self.cluster.brokers[b].faulted()}
        candidates = sorted(wait_until(leaders, 30, f"a live broker leading a partition of {TOPIC}"))
        victim = self.cluster.brokers[candidates[int(fault.pick * len(candidates))]]
        led = sorted(p for p, b in (self.cluster.partition_leaders(TOPIC) or {}).items() if b == victim.node_id)
        started = time.monotonic()
        action = {"kill_broker": victim.kill9, "pause_broker": victim.pause,
                  "isolate_broker": lambda: self.cluster.isolate(victim)}[fault.kind]
        action()
        probe = failover.BrokerFailover(self.cluster, TOPIC, victim, started, self.cancel_probes)
        probe.start()
        self.probes.append((fault.kind, victim.name, probe))
        self.timeline.add(f"{fault.kind} {victim.name} (leads partitions {led}) for {fault.duration}s", started)
        time.sleep(fault.duration)  # the schedule's own timing: how long the fault lasts
        self._recover(fault.kind, victim)

    def _controller_fault(self, index, fault):
        leader_id, epoch = self.cluster.quorum_leader()
        if fault.leader:
            victim = self.cluster.controllers[leader_id]
        else:
            followers = sorted(c for c in self.cluster.controllers if c != leader_id)
            victim = self.cluster.controllers[followers[int(fault.pick * len(followers))]]
        started = time.monotonic()
        action = {"kill_controller": victim.kill9, "pause_controller": victim.pause,
                  "isolate_controller": lambda: self.cluster.isolate(victim)}[fault.kind]
        action()
        role = "leader" if victim.node_id == leader_id else "follower"
        self.timeline.add(f"{fault.kind} {victim.name} ({role}, epoch {epoch}) for {fault.duration}s", started)
        if role == "leader":
            probe = failover.ControllerFailover(self.cluster, victim, epoch, started, f"probe-{self.seed}-{index}",
                                                self.logger, self.cancel_probes)
            probe.start()
            self.probes.append((fault.kind, victim.name, probe))
        time.sleep(fault.duration)  # the schedule's own timing: how long the fault lasts
        self._recover(fault.kind, victim)

    def _recover(self, kind, victim):
        at = time.monotonic()
        if kind.startswith("kill"):
            self.cluster.restart(victim)
            self.timeline.add(f"restarted {victim.name} (listening after {time.monotonic() - at:.2f}s)", at)
        elif kind.startswith("pause"):
            victim.resume()
            self.timeline.add(f"SIGCONT {victim.name}", at)
        else:
            self.cluster.heal(victim)
            self.timeline.add(f"healed the link of {victim.name}", at)

    def _finish(self):
        self._note_crashes()  # before healing restarts a node that died by itself
        self.cluster.heal_everything()
        self.timeline.add("every fault healed; stopping the producers")
        self.stop_producers.set()
        for p in self.producers:
            p.join(workload.MESSAGE_TIMEOUT_MS / 1000 + 30)
            if p.is_alive():
                raise TimeoutError(f"producer {p.producer_id} still flushing after {workload.MESSAGE_TIMEOUT_MS} ms")
        self.timeline.add(f"producers done: {sum(p.acked_count() for p in self.producers)} records acknowledged")
        try:
            wait_until(lambda: self.cluster.healthy([TOPIC, OFFSETS_TOPIC], [PARTITIONS, OFFSETS_PARTITIONS]), 90,
                       "every partition led with its full ISR after healing")
            self.timeline.add("every partition led with its full ISR")
        except TimeoutError as e:  # still worth reading what the cluster kept
            state = self.cluster.metadata([TOPIC, OFFSETS_TOPIC])
            self.verdict.add("not_whole_again", f"{e}; metadata: {state and state['topics']}")
        self._check_replicas_identical()
        log, ends = workload.read_partitions(self.cluster.bootstrap, TOPIC, PARTITIONS, self.logger)
        self.timeline.add(f"read {sum(len(r) for r in log.values())} records, high watermarks {ends}")

        def group_caught_up():
            best = {}
            for m in self.members:
                for _, _, offsets in m.fetches:
                    for p, o in offsets.items():
                        best[p] = max(best.get(p, -1), o)
            return all(best.get(p, 0 if ends[p] == 0 else -1) >= ends[p] for p in range(PARTITIONS))
        try:
            wait_until(group_caught_up, 90, "the group to commit every partition's high watermark")
        except TimeoutError as e:
            self.verdict.add("group_stalled", str(e))
        self.stop_group.set()
        for m in self.members:
            m.join(60)
        final = workload.fetch_committed(self.cluster.bootstrap, TOPIC, PARTITIONS, GROUP, self.logger)
        self.timeline.add(f"group stopped, committed offsets {final[2]}")
        for kind, victim, probe in self.probes:
            probe.join(90)
            self._collect(kind, victim, probe)
        group = checker.GroupRecord(
            delivered=[d for m in self.members for d in m.delivered],
            commits=[c for m in self.members for c in m.commits],
            fetches=[f for m in self.members for f in m.fetches],
            fatal=[f for m in self.members for f in m.fatal],
            crashed=[f"member {m.member}: {m.crashed}" for m in self.members if m.crashed])
        producers = [checker.ProducerRecord(p.producer_id, p.produced, p.acked, p.delivery_errors, p.fatal,
                                            p.undelivered or 0, p.crashed) for p in self.producers]
        verdict = checker.check(producers, group, final, log, ends)
        self.verdict.counts.update(verdict.counts)
        self.verdict.problems.extend(verdict.problems)

    def _check_replicas_identical(self, timeout=60):
        """Followers store the leader's batches unchanged, so once caught up every replica of a
        partition holds the same bytes."""
        state = self.cluster.metadata([TOPIC])

        def replica_bytes(broker, p):
            paths = sorted(glob.glob(os.path.join(self.cluster.dir, f"broker-{broker}", f"{TOPIC}-{p}", "*.log")))
            return b"".join(open(path, "rb").read() for path in paths)

        def identical():
            digests = {}
            for p, info in state["topics"][TOPIC]["partitions"].items():
                contents = {b: replica_bytes(b, p) for b in info["replicas"]}
                digests[p] = {b: (len(c), hashlib.sha256(c).hexdigest()[:12]) for b, c in contents.items()}
            self.replica_digests = digests
            return all(len(set(d.values())) == 1 for d in digests.values())
        try:
            wait_until(identical, timeout, "every replica of every partition to hold the same bytes", interval=0.5)
        except TimeoutError:
            for p, d in self.replica_digests.items():
                if len(set(d.values())) > 1:
                    self.verdict.add("replicas_differ", f"partition {p}: (bytes, sha256) per broker {d}")

    def _collect(self, kind, victim, probe):
        if probe.is_alive():
            self.verdict.add("failover_timeout", f"the failover clock of {kind} on {victim} never stopped")
        elif probe.error:
            self.verdict.add("failover_timeout", probe.error)
        elif isinstance(probe, failover.BrokerFailover):
            self.broker_failovers.append({"kind": kind, "victim": victim, "seconds": round(probe.seconds, 3),
                                          "by_election": probe.by_election})
            self.timeline.add(f"{kind} {victim}: partitions led again after {probe.seconds:.2f}s "
                              f"({'by election' if probe.by_election else 'once it was back'})",
                              probe.started + probe.seconds)
        else:
            self.controller_failovers.append({"kind": kind, "victim": victim, "new_leader": probe.new_leader,
                                              "leader_seconds": round(probe.leader_seconds, 3),
                                              "write_seconds": round(probe.write_seconds, 3)})
            self.timeline.add(f"{kind} {victim}: controller {probe.new_leader} leads after "
                              f"{probe.leader_seconds:.2f}s, admin write after {probe.write_seconds:.2f}s",
                              probe.started + probe.leader_seconds)

    def _note_crashes(self):
        for name, code in self.cluster.unexpected_exits().items():
            if not any(name in p for p in self.verdict.problems if p.startswith("node_exited")):
                self.verdict.add("node_exited", f"{name} exited by itself with {code}")
                self.timeline.add(f"{name} exited by itself with {code}")

    # --- the outcome -------------------------------------------------------------------------

    def result(self):
        self.timeline.events.sort(key=lambda event: event[0])
        return {
            "seed": self.seed,
            "faults": [f.describe() for f in self.faults],
            "passed": self.verdict.ok,
            "counts": self.verdict.counts,
            "problems": self.verdict.problems,
            "timeline": self.timeline.lines(),
            "broker_failovers": self.broker_failovers,
            "controller_failovers": self.controller_failovers,
            "restarts": self.restarts,
            "seconds": round(time.monotonic() - self.timeline.start, 1),
            "data_dir": self.cluster.dir,
            "log_tails": {} if self.verdict.ok else {n.name: n.log_tail() for n in self.cluster.nodes},
            "traceback": getattr(self, "harness_traceback", None),
        }
