"""A 3-voter controller quorum under failure, with 3 brokers and real clients: kill -9 and
SIGSTOP of the leader, a voter that rejoins from a snapshot, DescribeQuorum and ElectLeaders as
raw frames, reassignment through kafkajs."""
import os
import re
import subprocess
import unittest

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire
from harness import Cluster, wait_until

JS_REASSIGN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js", "reassign.js")
NONE, UNKNOWN_TOPIC_OR_PARTITION = 0, 3
PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE, ELECTION_NOT_NEEDED = 80, 83, 84
NO_REASSIGNMENT_IN_PROGRESS = 85


def admin(cluster):
    return AdminClient({"bootstrap.servers": cluster.bootstrap})


def create_topic(cluster, name, partitions=1, replication=1, replicas=None):
    topic = (NewTopic(name, len(replicas), replica_assignment=replicas) if replicas else
             NewTopic(name, num_partitions=partitions, replication_factor=replication))
    client = admin(cluster)  # kept alive until the futures resolve
    for future in client.create_topics([topic], operation_timeout=30, request_timeout=60).values():
        future.result(timeout=60)


def leaders(cluster, topic, broker=0):
    client = AdminClient({"bootstrap.servers": f"127.0.0.1:{cluster.broker_ports[broker]}"})
    metadata = client.list_topics(topic, timeout=10)
    t = metadata.topics.get(topic)
    if t is None or t.error is not None:
        return None
    return {p.id: (p.leader, sorted(p.isrs)) for p in t.partitions.values()}


def produce_and_consume(cluster, topic, value):
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    errors = []
    producer.produce(topic, value, on_delivery=lambda err, msg: errors.append(err))
    producer.flush(30)
    assert errors == [None], errors
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": f"g-{topic}-{value.decode()}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        def got():
            message = consumer.poll(0.5)
            return message is not None and message.error() is None and message.value() == value
        wait_until(got, 60, f"consuming {value!r} from {topic}")
    finally:
        consumer.close()


class QuorumFailoverTest(unittest.TestCase):
    def test_kill9_of_the_leader_elects_another_and_the_cluster_keeps_working(self):
        with Cluster(brokers=3, controllers=3) as cluster:
            leader = cluster.wait_for_quorum_leader()
            state = cluster.describe_quorum()
            self.assertEqual(sorted(v["id"] for v in state["voters"]), cluster.controller_ids)
            self.assertEqual(sorted(n["id"] for n in state["nodes"]), cluster.controller_ids)
            for node in state["nodes"]:
                self.assertEqual(node["listeners"][0]["port"], cluster.controller_ports[cluster.controller_index(node["id"])])
            wait_until(lambda: sorted(o["id"] for o in (cluster.describe_quorum() or {"observers": []})["observers"])
                       == [1, 2, 3], 30, "all three brokers listed as observers")
            self.assertGreater(state["high_watermark"], 0)
            create_topic(cluster, "before", partitions=3, replication=1)

            epoch = state["leader_epoch"]
            cluster.controllers[cluster.controller_index(leader)].kill9()
            new_leader = cluster.wait_for_quorum_leader(other_than=leader)
            self.assertNotEqual(new_leader, leader)
            self.assertGreater(cluster.describe_quorum()["leader_epoch"], epoch)
            create_topic(cluster, "after", partitions=3, replication=3)
            for broker in range(3):
                wait_until(lambda: (leaders(cluster, "after", broker) or {}).keys() == {0, 1, 2}, 30,
                           f"broker {broker + 1} to know topic 'after'")
            produce_and_consume(cluster, "before", b"still-serving")
            for broker in cluster.brokers:
                self.assertTrue(broker.alive(), f"{broker.name} exited")

    def test_a_restarted_voter_catches_up_from_a_snapshot_and_the_quorum_commits_with_one_down(self):
        with Cluster(brokers=1, controllers=3,
                     controller_overrides={"metadata.log.max.snapshot.interval.entries": "4"}) as cluster:
            leader = cluster.wait_for_quorum_leader()
            follower = next(i for i in cluster.controller_ids if i != leader)
            down = cluster.controllers[cluster.controller_index(follower)]
            down.kill9()
            for i in range(12):  # well past the snapshot interval: the log it lacks is compacted away
                create_topic(cluster, f"while-down-{i}")
            high_watermark = cluster.describe_quorum()["high_watermark"]
            log_before = len(down.log())
            down.start()

            def caught_up():
                state = cluster.describe_quorum()
                voter = next((v for v in (state or {}).get("voters", []) if v["id"] == follower), None)
                return voter is not None and voter["log_end_offset"] >= high_watermark
            wait_until(caught_up, 30, f"controller {follower} to catch up to {high_watermark}")
            restored = [int(m) for m in re.findall(r"restored the metadata image at offset (\d+) from a snapshot",
                                                   down.log()[log_before:])]
            self.assertTrue(restored and max(restored) > 0, f"no snapshot restore in the log of {down.name}")
            self.assertIn("while-down-11", admin(cluster).list_topics(timeout=10).topics)

            # The rejoined voter counts: with the leader gone it and the third voter elect a leader.
            cluster.controllers[cluster.controller_index(leader)].kill9()
            cluster.wait_for_quorum_leader(other_than=leader)
            create_topic(cluster, "after-two-failures")

    def test_a_stopped_leader_is_replaced_and_steps_down_when_it_resumes(self):
        with Cluster(brokers=2, controllers=3) as cluster:
            leader = cluster.wait_for_quorum_leader()
            paused = cluster.controllers[cluster.controller_index(leader)]
            paused.pause()
            new_leader = cluster.wait_for_quorum_leader(other_than=leader, timeout=60)
            create_topic(cluster, "while-paused", partitions=2)
            paused.resume()
            wait_until(lambda: "no longer the quorum leader" in paused.log(), 30,
                       f"controller {leader} to step down after SIGCONT")
            create_topic(cluster, "after-resume")
            state = cluster.describe_quorum(broker=1)
            self.assertEqual(state["leader_id"], new_leader)
            wait_until(lambda: all(v["log_end_offset"] >= state["high_watermark"]
                                   for v in (cluster.describe_quorum() or {"voters": []})["voters"]),
                       30, "every voter, the resumed one too, to hold the committed log")


class PartitionLeadershipTest(unittest.TestCase):
    def test_elect_leaders_answers_with_kafkas_codes(self):
        with Cluster(brokers=3, controllers=1, controller_overrides={"broker.session.timeout.ms": "1500"},
                     broker_overrides={"broker.heartbeat.interval.ms": "300"}) as cluster:
            create_topic(cluster, "pair", replicas=[[1, 2]])
            create_topic(cluster, "moved", replicas=[[2, 3]])
            create_topic(cluster, "single", replicas=[[2]])
            create_topic(cluster, "steady", replicas=[[3]])
            port = cluster.broker_ports[2]
            # Broker 1 stops: its lease lapses and 'pair' moves to broker 2 (ISR [2]); then broker 2
            # stops: 'pair' has no live in-sync replica and keeps broker 2 as its ISR.
            cluster.brokers[0].stop()
            wait_until(lambda: (leaders(cluster, "pair", 2) or {}).get(0) == (2, [2]), 30, "'pair' led by broker 2")
            cluster.brokers[1].stop()
            wait_until(lambda: (leaders(cluster, "pair", 2) or {}).get(0, (0,))[0] == -1, 30, "'pair' leaderless")
            cluster.start_broker(0)

            error, results = kafka_wire.elect_leaders_v1(port, 0, {"moved": [0], "steady": [0], "nothing": [0]})
            self.assertEqual(error, NONE)
            self.assertEqual(results[("moved", 0)], PREFERRED_LEADER_NOT_AVAILABLE)
            self.assertEqual(results[("steady", 0)], ELECTION_NOT_NEEDED)
            self.assertEqual(results[("nothing", 0)], UNKNOWN_TOPIC_OR_PARTITION)

            error, results = kafka_wire.elect_leaders_v1(port, 1, {"pair": [0], "single": [0], "moved": [0]})
            self.assertEqual(results[("pair", 0)], NONE)
            self.assertEqual(results[("single", 0)], ELIGIBLE_LEADERS_NOT_AVAILABLE)
            self.assertEqual(results[("moved", 0)], ELECTION_NOT_NEEDED)
            # Answered once this broker applied the election: its metadata already shows it.
            self.assertEqual(leaders(cluster, "pair", 2)[0], (1, [1]))
            _, results = kafka_wire.elect_leaders_v1(port, 0, {"pair": [0]})
            self.assertEqual(results[("pair", 0)], ELECTION_NOT_NEEDED)

    def test_reassignment_through_kafkajs(self):
        with Cluster(brokers=3, controllers=3) as cluster:
            create_topic(cluster, "moving", replicas=[[1], [2]])

            def node(mode):
                done = subprocess.run(["node", JS_REASSIGN, cluster.bootstrap, "moving", mode],
                                      capture_output=True, text=True, timeout=120)
                self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
                return done.stdout
            # Broker 3 stays down, so the move cannot complete while the test looks at it.
            cluster.brokers[2].kill9()
            self.assertIn("OK kafkajs reassignment started", node("start"))
            port = cluster.broker_ports[0]
            self.assertEqual(kafka_wire.alter_partition_reassignments_v0(port, "moving", {0: None}), (NONE, {0: NONE}))
            self.assertEqual(kafka_wire.alter_partition_reassignments_v0(port, "moving", {0: None, 5: [1]}),
                             (NONE, {0: NO_REASSIGNMENT_IN_PROGRESS, 5: UNKNOWN_TOPIC_OR_PARTITION}))
            self.assertIn("OK kafkajs lists no reassignment", node("expect-none"))

if __name__ == "__main__":
    unittest.main()
