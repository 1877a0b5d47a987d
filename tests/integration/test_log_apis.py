"""DeleteRecords, DescribeLogDirs and the client-metrics APIs (what kafka-delete-records.sh,
kafka-log-dirs.sh and kafka-client-metrics.sh use) against real brokers: kafkajs deletes records,
python3-confluent-kafka produces, consumes and lists offsets, and raw frames (log_wire.py) check
the exact error codes, low watermarks and sizes that these clients do not expose."""
import os
import subprocess
import unittest

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Cluster, wait_until
import log_wire as lw

DELETE_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js", "delete_records.js")


def create_topic(bootstrap, topic, partitions=1, replication=1, config=None):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, partitions, replication, config=config or {})]).values():
        future.result(30)


def produce(bootstrap, topic, count, partition=0, value=b"v" * 100, one_per_batch=False):
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2})
    errors = []
    for _ in range(count):
        producer.produce(topic, value=value, partition=partition, on_delivery=lambda err, _: err and errors.append(err))
        if one_per_batch:
            producer.flush(30)
    assert producer.flush(30) == 0, "messages left undelivered"
    assert not errors, errors


def kafkajs_delete(bootstrap, topic, partition, offset):
    done = subprocess.run(["node", DELETE_SCRIPT, bootstrap, topic, str(partition), str(offset)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def watermarks(bootstrap, topic, partition=0):
    """(earliest, latest) through ListOffsets."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    finally:
        consumer.close()


def first_offset_from(bootstrap, topic, start):
    """The offset of the first message a consumer gets when it starts at `start` (falling back
    to the earliest offset when `start` is out of range)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, 0, start)])
    got = []

    def one():
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            got.append(message.offset())
        return got
    try:
        wait_until(one, 30, f"a message from {topic} starting at {start}", interval=0)
    finally:
        consumer.close()
    return got[0]


class SingleBrokerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(brokers=1, controllers=1).__enter__()
        cls.bootstrap = cls.cluster.bootstrap
        cls.port = cls.cluster.broker_ports[0]

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def test_delete_records_moves_the_log_start_durably(self):
        create_topic(self.bootstrap, "trimmed", config={"segment.bytes": "2048"})
        produce(self.bootstrap, "trimmed", 40, one_per_batch=True)  # ~10 batches a segment
        self.assertEqual(watermarks(self.bootstrap, "trimmed"), (0, 40))
        self.assertEqual(kafkajs_delete(self.bootstrap, "trimmed", 0, 25), "OK")
        self.assertEqual(watermarks(self.bootstrap, "trimmed"), (25, 40), "ListOffsets earliest is the new log start")
        self.assertEqual(first_offset_from(self.bootstrap, "trimmed", 0), 25,
                         "a consumer from the beginning starts at the new log start")
        self.assertEqual(first_offset_from(self.bootstrap, "trimmed", 30), 30)
        partition_dir = os.path.join(self.cluster.dir, "broker-1", "trimmed-0")
        segments = sorted(f for f in os.listdir(partition_dir) if f.endswith(".log"))
        self.assertGreater(int(segments[0].split(".")[0]), 0, "whole segments below the log start are gone")

        # kill -9: the log start was checkpointed before the answer.
        self.cluster.brokers[0].kill9()
        self.cluster.start_broker(0)
        wait_until(lambda: watermarks(self.bootstrap, "trimmed") == (25, 40), 30, "log start 25 after kill -9")

        # -1 means the high watermark; a lower offset than the log start changes nothing.
        self.assertEqual(lw.delete_records_v2(self.port, "trimmed", 0, -1), (lw.NONE, 40))
        self.assertEqual(lw.delete_records_v1(self.port, {("trimmed", 0): 10}), {("trimmed", 0): (lw.NONE, 40)})
        self.assertEqual(watermarks(self.bootstrap, "trimmed"), (40, 40))
        produce(self.bootstrap, "trimmed", 3)
        self.assertEqual(first_offset_from(self.bootstrap, "trimmed", 0), 40)

    def test_delete_records_errors(self):
        create_topic(self.bootstrap, "short")
        produce(self.bootstrap, "short", 5)
        self.assertEqual(kafkajs_delete(self.bootstrap, "short", 0, 6), "ERROR OFFSET_OUT_OF_RANGE")
        answers = lw.delete_records_v1(self.port, {("short", 0): 6, ("short", 1): 1, ("missing", 0): 1})
        self.assertEqual(answers[("short", 0)], (lw.OFFSET_OUT_OF_RANGE, -1), "beyond the high watermark")
        self.assertEqual(answers[("short", 1)][0], lw.UNKNOWN_TOPIC_OR_PARTITION)
        self.assertEqual(answers[("missing", 0)][0], lw.UNKNOWN_TOPIC_OR_PARTITION)
        self.assertEqual(lw.delete_records_v2(self.port, "short", 0, -2)[0], lw.OFFSET_OUT_OF_RANGE)
        create_topic(self.bootstrap, "compacted", config={"cleanup.policy": "compact"})
        self.assertEqual(lw.delete_records_v2(self.port, "compacted", 0, 0)[0], lw.POLICY_VIOLATION)
        self.assertEqual(watermarks(self.bootstrap, "short"), (0, 5), "nothing was deleted")

    def test_describe_log_dirs(self):
        create_topic(self.bootstrap, "sized", partitions=2)
        log_dir = os.path.realpath(os.path.join(self.cluster.dir, "broker-1"))
        error, dirs = lw.describe_log_dirs(self.port, 4, {"sized": [0, 1]})
        self.assertEqual(error, 0)
        self.assertEqual(len(dirs), 1)
        self.assertEqual(dirs[0]["error_code"], 0)
        self.assertEqual(os.path.realpath(dirs[0]["log_dir"]), log_dir)
        self.assertEqual(dirs[0]["partitions"], {("sized", 0): (0, 0, False), ("sized", 1): (0, 0, False)})
        self.assertGreater(dirs[0]["total_bytes"], 0)
        self.assertTrue(0 <= dirs[0]["usable_bytes"] <= dirs[0]["total_bytes"])

        produce(self.bootstrap, "sized", 50, partition=1)
        _, dirs = lw.describe_log_dirs(self.port, 4, {"sized": [1]})
        self.assertEqual(list(dirs[0]["partitions"]), [("sized", 1)], "only the partition asked for")
        size, lag, future = dirs[0]["partitions"][("sized", 1)]
        self.assertGreater(size, 50 * 100, "the size grew by at least the values produced")
        self.assertEqual((lag, future), (0, False))

        # v1 (classic encoding), every topic.
        error, dirs = lw.describe_log_dirs(self.port, 1)
        self.assertIsNone(error)
        self.assertEqual(dirs[0]["partitions"][("sized", 1)][0], size)
        self.assertIn(("sized", 0), dirs[0]["partitions"])
        self.assertNotIn("total_bytes", dirs[0])

    def test_client_metrics_as_kafka_without_a_telemetry_receiver(self):
        apis = lw.api_versions(self.port)
        self.assertNotIn(71, apis, "GetTelemetrySubscriptions is not advertised")
        self.assertNotIn(72, apis, "PushTelemetry is not advertised")
        self.assertEqual(apis[74], (0, 0))
        self.assertEqual(apis[21], (0, 2))
        self.assertEqual(apis[35], (1, 4))
        self.assertEqual(lw.list_client_metrics_resources(self.port), (0, []))
        # The list is empty because none can be made: such configs are refused, not dropped.
        self.assertEqual(lw.incremental_alter_configs_v0(self.port, lw.CLIENT_METRICS_RESOURCE, "all-clients",
                                                         {"metrics": "org.apache.kafka.", "interval.ms": "30000"}),
                         lw.INVALID_REQUEST)
        self.assertEqual(lw.list_client_metrics_resources(self.port), (0, []))


class ReplicatedTest(unittest.TestCase):
    """Three brokers, a topic with three replicas."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(brokers=3, controllers=1).__enter__()
        cls.bootstrap = cls.cluster.bootstrap

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def leader(self, topic):
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        partition = admin.list_topics(topic, timeout=10).topics[topic].partitions[0]
        return partition.leader if partition.error is None and len(partition.isrs) == 3 else None

    def checkpointed_log_start(self, broker, topic):
        with open(os.path.join(self.cluster.dir, f"broker-{broker}", f"{topic}-0", "log-start-offset.checkpoint")) as f:
            return int(f.read().split("\n")[1])

    def test_followers_follow_the_log_start(self):
        create_topic(self.bootstrap, "everywhere", replication=3)
        leader = wait_until(lambda: self.leader("everywhere"), 30, "a leader with all three replicas in sync")
        produce(self.bootstrap, "everywhere", 20)
        self.assertEqual(kafkajs_delete(self.bootstrap, "everywhere", 0, 7), "OK")
        # Answered only once every live replica's log start reached 7, each checkpointed first.
        for broker in (1, 2, 3):
            self.assertEqual(self.checkpointed_log_start(broker, "everywhere"), 7, f"broker {broker}")
        port = self.cluster.broker_ports[leader % 3]
        self.assertEqual(lw.delete_records_v2(port, "everywhere", 0, 8)[0], lw.NOT_LEADER_OR_FOLLOWER)

        self.cluster.brokers[leader - 1].kill9()
        wait_until(lambda: (lambda p: p.leader not in (-1, leader) and p.leader)(
            AdminClient({"bootstrap.servers": self.bootstrap}).list_topics("everywhere", timeout=10)
            .topics["everywhere"].partitions[0]), 30, "a new leader")
        self.assertEqual(watermarks(self.bootstrap, "everywhere"), (7, 20), "the new leader starts at 7 too")
        self.cluster.start_broker(leader - 1)

    def test_a_stalled_follower_holds_the_answer_until_the_timeout(self):
        create_topic(self.bootstrap, "stalled", replication=3)
        leader = wait_until(lambda: self.leader("stalled"), 30, "a leader with all three replicas in sync")
        produce(self.bootstrap, "stalled", 10)
        follower = leader % 3 + 1
        port = self.cluster.broker_ports[leader - 1]
        self.cluster.brokers[follower - 1].pause()
        try:
            # Well inside broker.session.timeout.ms: the stalled follower still counts as live.
            error, low_watermark = lw.delete_records_v2(port, "stalled", 0, 4, timeout_ms=1000)
        finally:
            self.cluster.brokers[follower - 1].resume()
        self.assertEqual((error, low_watermark), (lw.REQUEST_TIMED_OUT, 0), "the follower's log start was still 0")
        self.assertEqual(watermarks(self.bootstrap, "stalled"), (4, 10), "the leader applied it all the same")
        wait_until(lambda: lw.delete_records_v2(port, "stalled", 0, 4, timeout_ms=5000) == (lw.NONE, 4), 30,
                   "the resumed follower to reach log start 4")


if __name__ == "__main__":
    unittest.main()
