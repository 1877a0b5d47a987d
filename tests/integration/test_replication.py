"""ISR replication between real brokers, driven by librdkafka (confluent-kafka): every replica
holds the data, acks=all survives the leader's kill -9, a restarted broker catches up and
rejoins the ISR, min.insync.replicas refuses writes one more failure could lose, controlled
shutdown moves leaderships first, and committed group offsets survive their coordinator."""
import glob
import os
import signal
import subprocess
import threading
import unittest

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Cluster, wait_until

FAST_FAILOVER = {
    "controller": {"broker.session.timeout.ms": "3000"},
    "broker": {"broker.heartbeat.interval.ms": "500", "replica.lag.time.max.ms": "5000",
               "offsets.topic.num.partitions": "3", "group.initial.rebalance.delay.ms": "0"},
}


JS_REASSIGN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js", "reassign.js")


def partition_state(bootstrap, topic, partition=0):
    """(leader, replicas, isr) as a client sees them, or None while unknown."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        metadata = admin.list_topics(topic, timeout=5)
    except Exception:  # a broker of the bootstrap list may be down
        return None
    info = metadata.topics.get(topic)
    if info is None or info.error is not None or partition not in info.partitions:
        return None
    p = info.partitions[partition]
    return p.leader, sorted(p.replicas), sorted(p.isrs)


def produce(bootstrap, topic, values, **config):
    """Produces with acks=all and idempotence; returns {value: (partition, offset)} of acked ones."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 2, **config})
    acked, errors = {}, []

    def delivered(err, message):
        if err:
            errors.append(err)
        else:
            acked[message.value()] = (message.partition(), message.offset())
    for value in values:
        while True:
            try:
                producer.produce(topic, key=value[:4], value=value, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.1)
    remaining = producer.flush(60)
    if remaining:
        raise AssertionError(f"{remaining} messages undelivered")
    return acked, errors


def consume_all(bootstrap, topic, partitions, expected, timeout=60):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False,
                         "enable.partition.eof": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    seen = []

    def done():
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            seen.append((message.partition(), message.offset(), message.value()))
        return len(seen) >= expected
    try:
        wait_until(done, timeout, f"{expected} messages from {topic} (have {len(seen)})", interval=0)
    finally:
        consumer.close()
    return seen


def log_bytes(cluster, broker_index, topic, partition=0):
    pattern = os.path.join(cluster.dir, f"broker-{broker_index + 1}", f"{topic}-{partition}", "*.log")
    return sum(os.path.getsize(path) for path in glob.glob(pattern))


class ReplicationTest(unittest.TestCase):
    def cluster(self, **overrides):
        broker = {**FAST_FAILOVER["broker"], **overrides}
        return Cluster(brokers=3, broker_overrides=broker, controller_overrides=FAST_FAILOVER["controller"])

    def create(self, cluster, topic, partitions=1, replication=3, config=None):
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        for future in admin.create_topics([NewTopic(topic, partitions, replication, config=config or {})]).values():
            future.result(30)
        wait_until(lambda: (s := partition_state(cluster.bootstrap, topic)) and len(s[2]) == replication, 30,
                   f"{topic} to have {replication} in-sync replicas")

    def wait_leader(self, cluster, topic, not_on=None, isr_size=None, partition=0, timeout=30):
        def elected():
            state = partition_state(cluster.bootstrap, topic, partition)
            if not state or state[0] < 0 or state[0] == not_on:
                return None
            if isr_size is not None and len(state[2]) != isr_size:
                return None
            return state
        return wait_until(elected, timeout, f"a leader of {topic}-{partition} other than {not_on} (ISR size {isr_size})")

    def test_every_replica_holds_the_data(self):
        with self.cluster() as cluster:
            self.create(cluster, "held")
            acked, errors = produce(cluster.bootstrap, "held", [b"value-%05d" % i for i in range(3000)])
            self.assertEqual(errors, [])
            self.assertEqual(len(acked), 3000)
            # The followers' logs become byte-identical to the leader's (batches are stored as sent).
            wait_until(lambda: len({log_bytes(cluster, i, "held") for i in range(3)}) == 1, 30,
                       "three equal replicas of held-0")
            self.assertGreater(log_bytes(cluster, 0, "held"), 3000 * 11)

    def test_acks_all_survives_kill9_of_the_leader(self):
        with self.cluster() as cluster:
            self.create(cluster, "survive", config={"min.insync.replicas": "2"})
            acked, errors = produce(cluster.bootstrap, "survive", [b"before-%05d" % i for i in range(2000)])
            self.assertEqual(errors, [])
            leader, _, _ = partition_state(cluster.bootstrap, "survive")
            cluster.brokers[leader - 1].kill9()
            # The dead broker leaves the ISR in the same change that elects the new leader.
            new_leader, replicas, isr = self.wait_leader(cluster, "survive", not_on=leader, isr_size=2)
            self.assertNotIn(leader, isr)
            seen = consume_all(cluster.bootstrap, "survive", 1, len(acked))
            self.assertEqual(sorted(v for _, _, v in seen), sorted(acked))
            self.assertEqual([o for _, o, _ in seen], list(range(len(acked))), "offsets moved or repeated")

            more, errors = produce(cluster.bootstrap, "survive", [b"after-%05d" % i for i in range(1000)])
            self.assertEqual(errors, [])
            # The old leader comes back as a follower, catches up and rejoins the ISR.
            cluster.start_broker(leader - 1)
            self.wait_leader(cluster, "survive", isr_size=3)
            cluster.brokers[new_leader - 1].kill9()
            self.wait_leader(cluster, "survive", not_on=new_leader, isr_size=2)
            seen = consume_all(cluster.bootstrap, "survive", 1, 3000)
            self.assertEqual(sorted(v for _, _, v in seen), sorted([*acked, *more]))

    def test_min_insync_replicas_refuses_what_one_more_failure_could_lose(self):
        with self.cluster() as cluster:
            self.create(cluster, "guarded", config={"min.insync.replicas": "2"})
            leader, replicas, _ = partition_state(cluster.bootstrap, "guarded")
            followers = [r for r in replicas if r != leader]
            for follower in followers:
                cluster.brokers[follower - 1].kill9()
            self.wait_leader(cluster, "guarded", isr_size=1)
            acked, errors = produce(cluster.bootstrap, "guarded", [b"lonely"], **{"message.timeout.ms": 3000})
            self.assertEqual(acked, {})
            self.assertTrue(errors, "an acks=all write with one in-sync replica was acknowledged")
            self.assertIn(errors[0].code(), (KafkaError.NOT_ENOUGH_REPLICAS, KafkaError._MSG_TIMED_OUT), errors[0])
            cluster.start_broker(followers[0] - 1)
            self.wait_leader(cluster, "guarded", isr_size=2)
            acked, errors = produce(cluster.bootstrap, "guarded", [b"safe"])
            self.assertEqual((len(acked), errors), (1, []))

    def test_controlled_shutdown_moves_leadership_first(self):
        with self.cluster() as cluster:
            self.create(cluster, "moved", partitions=6)
            stop = threading.Event()
            outcome = {}

            def values():
                i = 0
                while not stop.is_set():
                    yield b"v-%06d" % i
                    i += 1
                    stop.wait(0.002)  # a steady stream, not a flood

            def keep_producing():
                outcome["acked"], outcome["errors"] = produce(cluster.bootstrap, "moved", values())
            thread = threading.Thread(target=keep_producing)
            thread.start()
            victim = cluster.brokers[0]
            victim.proc.send_signal(signal.SIGTERM)
            victim.proc.wait(60)
            self.assertEqual(victim.proc.returncode, 0, "the broker did not stop cleanly")
            self.assertIn("leaderships moved to other brokers", victim.log())
            for p in range(6):
                self.assertNotEqual(partition_state(cluster.bootstrap, "moved", p)[0], 1)
            stop.set()
            thread.join(120)
            self.assertEqual(outcome["errors"], [], "a write failed while leaderships moved")
            self.assertGreater(len(outcome["acked"]), 0)

    def test_reassignment_moves_the_data_and_completes(self):
        with self.cluster() as cluster:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            for future in admin.create_topics([NewTopic("relocated", num_partitions=1, replica_assignment=[[1]])]).values():
                future.result(30)
            self.wait_leader(cluster, "relocated", isr_size=1)
            acked, errors = produce(cluster.bootstrap, "relocated", [b"r-%05d" % i for i in range(5000)])
            self.assertEqual((len(acked), errors), (5000, []))
            # kafkajs moves the partition off its only replica, the leader: the new replicas copy
            # the log, join the ISR, and the leadership moves to one of them.
            done = subprocess.run(["node", JS_REASSIGN, cluster.bootstrap, "relocated", "complete", "2,3"],
                                  capture_output=True, text=True, timeout=120)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            self.assertIn("OK kafkajs moved relocated-0 to 2,3", done.stdout)
            wait_until(lambda: log_bytes(cluster, 0, "relocated") == 0, 30, "broker 1 to delete its replica")
            cluster.brokers[0].kill9()  # the data no longer depends on broker 1
            seen = consume_all(cluster.bootstrap, "relocated", 1, 5000)
            self.assertEqual(sorted(v for _, _, v in seen), sorted(acked))

    def test_committed_offsets_survive_their_coordinator(self):
        with self.cluster() as cluster:
            self.create(cluster, "source", partitions=3)
            produce(cluster.bootstrap, "source", [b"m-%d" % i for i in range(300)])
            consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "durable",
                                 "enable.auto.commit": False, "auto.offset.reset": "earliest"})
            consumer.subscribe(["source"])
            taken = 0

            def consumed():
                nonlocal taken
                message = consumer.poll(0.5)
                if message is not None and message.error() is None:
                    taken += 1
                return taken >= 300
            wait_until(consumed, 60, "the group to read 300 messages")
            committed = consumer.commit(asynchronous=False)
            consumer.close()
            expected = {(c.partition, c.offset) for c in committed}
            self.assertEqual(sum(o for _, o in expected), 300)
            # Kill the coordinator: the offsets were in every ISR member's log.
            state = partition_state(cluster.bootstrap, "__consumer_offsets", 0)
            coordinators = {partition_state(cluster.bootstrap, "__consumer_offsets", p)[0] for p in range(3)}
            self.assertEqual(len(state[1]), 3, "__consumer_offsets is replicated three ways")
            for broker in coordinators:
                cluster.brokers[broker - 1].kill9()
                break
            reader = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "durable"})

            def offsets_back():
                try:
                    got = reader.committed([TopicPartition("source", p) for p in range(3)], timeout=5)
                except Exception:
                    return False
                return {(c.partition, c.offset) for c in got} == expected
            wait_until(offsets_back, 60, "the committed offsets from the new coordinator")
            reader.close()


if __name__ == "__main__":
    unittest.main()
