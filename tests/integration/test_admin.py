"""Topic administration through python3-confluent-kafka's AdminClient."""
import struct
import unittest

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from harness import DEFAULT_BROKERS, REPLICATION, Cluster, wait_until
import kafka_wire as kw


def result(futures, timeout=30):
    return {name: future.result(timeout) for name, future in futures.items()}


class AdminTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster().__enter__()
        cls.admin = AdminClient({"bootstrap.servers": cls.cluster.bootstrap})

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def error_code(self, futures):
        with self.assertRaises(KafkaException) as raised:
            result(futures)
        return raised.exception.args[0].code()

    def configs_once(self, topic, applied):
        """The topic's configs as soon as the broker the client asks has applied the change that
        `applied` recognises."""
        def described():
            try:
                configs = next(iter(result(self.admin.describe_configs([ConfigResource("topic", topic)])).values()))
            except KafkaException:
                return None  # this broker does not know the topic yet
            return configs if applied(configs) else None
        return wait_until(described, 10, f"the brokers to apply the change to {topic}'s configs")

    def test_create_describe_alter_delete(self):
        result(self.admin.create_topics([NewTopic("orders", 6, REPLICATION, config={"retention.ms": "3600000"})]))
        # The broker that forwarded a change answers once it has applied it; the client may ask
        # another broker next, which applies the same metadata a moment later (as in Kafka).
        wait_until(lambda: len(getattr(self.admin.list_topics(timeout=10).topics.get("orders"), "partitions", {})) == 6,
                   10, "the brokers to know orders with 6 partitions")
        described = self.configs_once("orders", lambda c: c["retention.ms"].value == "3600000")
        self.assertEqual(described["max.message.bytes"].value, "1048588")
        self.assertEqual(described["cleanup.policy"].value, "delete")

        result(self.admin.alter_configs([ConfigResource("topic", "orders", set_config={"max.message.bytes": "10485760"})]))
        described = self.configs_once("orders", lambda c: c["max.message.bytes"].value == "10485760")
        # The legacy AlterConfigs replaces the whole set: retention.ms went back to its default.
        self.assertEqual(described["retention.ms"].value, "604800000")

        result(self.admin.create_partitions([NewPartitions("orders", 9)]))
        wait_until(lambda: len(self.admin.list_topics(timeout=10).topics["orders"].partitions) == 9, 10,
                   "9 partitions after create_partitions")

        result(self.admin.delete_topics(["orders"]))
        wait_until(lambda: "orders" not in self.admin.list_topics(timeout=10).topics, 10,
                   "the brokers to forget the deleted topic")

    def test_incremental_alter(self):
        # python3-confluent-kafka 1.7 predates IncrementalAlterConfigs: send it on the wire.
        result(self.admin.create_topics([NewTopic("incremental", 1, REPLICATION, config={"segment.bytes": "1048576"})]))
        op_set, op_delete = 0, 1
        body = (struct.pack(">i", 1) + struct.pack(">b", 2) + kw.string("incremental") + struct.pack(">i", 2) +
                kw.string("retention.ms") + struct.pack(">b", op_set) + kw.string("-1") +
                kw.string("flush.ms") + struct.pack(">b", op_delete) + kw.string(None) + b"\x00")
        conn = kw.Connection(self.cluster.broker_ports[0])
        conn.send(kw.request(44, 0, 3, body))
        response = conn.receive()
        conn.close()
        error = struct.unpack_from(">h", response, 4 + 4 + 4)[0]
        self.assertEqual(error, 0)
        described = self.configs_once("incremental", lambda c: c["retention.ms"].value == "-1")
        self.assertEqual(described["segment.bytes"].value, "1048576", "incremental alter keeps other configs")

    def test_validate_only_creates_nothing(self):
        result(self.admin.create_topics([NewTopic("dry-run", 3, REPLICATION)], validate_only=True))
        self.assertNotIn("dry-run", self.admin.list_topics(timeout=10).topics)

    def test_explicit_assignment(self):
        result(self.admin.create_topics([NewTopic("assigned", 2, replica_assignment=[[1], [1]])]))
        topic = wait_until(lambda: self.admin.list_topics(timeout=10).topics.get("assigned"), 10,
                           "the brokers to know the assigned topic")
        self.assertEqual(sorted(topic.partitions), [0, 1])
        self.assertEqual(topic.partitions[0].replicas, [1])

    def test_errors(self):
        result(self.admin.create_topics([NewTopic("exists", 1, REPLICATION)]))
        self.assertEqual(self.error_code(self.admin.create_topics([NewTopic("exists", 1, REPLICATION)])), 36)
        self.assertEqual(self.error_code(self.admin.create_topics([NewTopic("bad/name", 1, REPLICATION)])), 17)
        self.assertEqual(self.error_code(self.admin.create_topics([NewTopic("too-many-replicas", 1, DEFAULT_BROKERS + 1)])), 38)
        self.assertEqual(self.error_code(self.admin.create_topics([NewTopic("zero", 0, REPLICATION)])), 37)
        self.assertEqual(self.error_code(self.admin.create_topics([NewTopic("badcfg", 1, REPLICATION, config={"retention.ms": "soon"})])), 40)
        self.assertEqual(self.error_code(self.admin.create_topics([NewTopic("unknowncfg", 1, REPLICATION, config={"no.such": "1"})])), 40)
        self.assertEqual(self.error_code(self.admin.create_partitions([NewPartitions("exists", 1)])), 37)
        self.assertEqual(self.error_code(self.admin.create_partitions([NewPartitions("missing", 4)])), 3)
        self.assertEqual(self.error_code(self.admin.delete_topics(["missing"])), 3)
        self.assertEqual(self.error_code(self.admin.alter_configs([ConfigResource("topic", "exists", set_config={"retention.ms": "x"})])), 40)
        self.assertEqual(self.error_code(self.admin.describe_configs([ConfigResource("topic", "missing")])), 3)

    def test_broker_configs_and_cluster(self):
        described = next(iter(result(self.admin.describe_configs([ConfigResource("broker", "1")])).values()))
        self.assertEqual(described["message.max.bytes"].value, "1048588")
        self.assertIn("log.retention.hours", described)
        metadata = self.admin.list_topics(timeout=10)
        self.assertEqual(sorted(metadata.brokers), list(range(1, DEFAULT_BROKERS + 1)))
        self.assertEqual(metadata.controller_id, 1, "a live broker is reported as the controller")


if __name__ == "__main__":
    unittest.main()
