"""Malformed and unsupported requests: the offending connection gets an error or is closed, and
the broker keeps serving everyone else."""
import struct
import unittest
import uuid

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Cluster
import kafka_wire as kw


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster().__enter__()
        cls.port = cls.cluster.broker_ports[0]
        admin = AdminClient({"bootstrap.servers": cls.cluster.bootstrap})
        for future in admin.create_topics([NewTopic("corrupt", 1, 1)]).values():
            future.result(30)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def assert_broker_serves(self):
        conn = kw.Connection(self.port)
        conn.send(kw.request(18, 0, 7, b""))
        response = conn.receive()
        conn.close()
        self.assertIsNotNone(response, "broker stopped answering ApiVersions")
        correlation, error = struct.unpack_from(">ih", response)
        self.assertEqual((correlation, error), (7, 0))

    def assert_closed_after(self, data):
        conn = kw.Connection(self.port)
        conn.send(data)
        self.assertTrue(conn.closed_by_peer(), f"connection not closed after {data[:16]!r}")
        conn.close()
        self.assert_broker_serves()

    def test_garbage(self):
        self.assert_closed_after(struct.pack(">i", 12) + b"\xff" * 12)

    def test_negative_length(self):
        self.assert_closed_after(struct.pack(">i", -5) + b"abc")

    def test_huge_length(self):
        self.assert_closed_after(struct.pack(">i", 2_000_000_000) + b"abc")

    def test_truncated_frame_then_disconnect(self):
        conn = kw.Connection(self.port)
        conn.send(struct.pack(">i", 100) + b"\x00\x12")
        conn.close()
        self.assert_broker_serves()

    def test_unknown_api_key(self):
        self.assert_closed_after(kw.request(999, 0, 1, b""))

    def test_unsupported_version_of_known_api(self):
        self.assert_closed_after(kw.request(3, 99, 1, b""))

    def test_truncated_body(self):
        # Metadata v1 with an array count promising topics that are not there.
        self.assert_closed_after(kw.request(3, 1, 1, struct.pack(">i", 5)))

    def test_api_versions_fallback_for_unknown_version(self):
        conn = kw.Connection(self.port)
        payload = struct.pack(">hhi", 18, 99, 42) + kw.string("it") + b"\x00"
        conn.send(struct.pack(">i", len(payload)) + payload)
        response = conn.receive()
        conn.close()
        correlation, error, count = struct.unpack_from(">ihi", response)
        self.assertEqual(correlation, 42)
        self.assertEqual(error, 35, "UNSUPPORTED_VERSION expected")
        ranges = {}
        for i in range(count):
            key, lo, hi = struct.unpack_from(">hhh", response, 10 + 6 * i)
            ranges[key] = (lo, hi)
        self.assertEqual(ranges[0][0], 0, "Produce is advertised from v0")
        self.assertIn(18, ranges)

    def test_old_produce_versions_get_unsupported_version(self):
        conn = kw.Connection(self.port)
        batch = kw.record_batch([b"x"])
        body = struct.pack(">hii", 1, 1000, 1) + kw.string("old") + struct.pack(">ii", 1, 0) + struct.pack(">i", len(batch)) + batch
        conn.send(kw.request(0, 2, 5, body))
        response = conn.receive()
        conn.close()
        self.assertIsNotNone(response)
        correlation = struct.unpack_from(">i", response)[0]
        self.assertEqual(correlation, 5)
        error = struct.unpack_from(">h", response, 4 + 4 + 2 + len("old") + 4 + 4)[0]
        self.assertEqual(error, 35)

    def test_corrupt_batch_is_refused_with_corrupt_message(self):
        conn = kw.Connection(self.port)
        batch = bytearray(kw.record_batch([b"payload"]))
        batch[-3] ^= 0xFF  # breaks the CRC
        conn.send(kw.request(0, 3, 9, kw.produce_v3("corrupt", 0, bytes(batch))))
        response = conn.receive()
        conn.close()
        error, _ = kw.parse_produce_v3_response(response[4:])
        self.assertEqual(error, 2, "CORRUPT_MESSAGE expected")
        self.assert_broker_serves()


    def assert_cluster_serves(self):
        """The broker answers and the controller still decides: a new topic can be created."""
        self.assert_broker_serves()
        name = f"alive-{uuid.uuid4().hex[:8]}"
        [(topic, error, message)] = kw.create_topics_v7(self.port, [(name, 1, 1)])
        self.assertEqual((topic, error), (name.encode(), 0), f"creating {name} after bad input: {message!r}")

    def controller_rss_kb(self):
        with open(f"/proc/{self.cluster.controller.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS for the controller")

    def test_create_topics_with_100000_partitions_is_refused(self):
        # The wire fuzzer's frame (CreateTopics v7, topic "big", 100,000 partitions): it hung the
        # controller, and its replay after a restart hung it again.
        frame = bytes.fromhex("000000270013000700000001000872656c2d66757a7a000204626967000186a0"
                              "0001010100000013880000")
        r = kw.exchange(self.port, frame, 1, "the fuzzer's CreateTopics", timeout=40)
        r.skip_tags()
        r.take(">i")
        self.assertEqual(r.uvarint() - 1, 1, "one topic result expected")
        name = r.compact_bytes()
        r.pos += 16
        error, message = r.take(">h"), r.compact_bytes()
        self.assertEqual((name, error), (b"big", 44), "POLICY_VIOLATION expected")
        self.assertEqual(message, b"Excessively large number of partitions per request.")
        # Split over topics the total counts too, and nothing of a refused request is created.
        results = kw.create_topics_v7(self.port, [("half-a", 5000, 1), ("half-b", 5001, 1)])
        self.assertEqual([error for _, error, _ in results], [44, 44])
        self.assertEqual(kw.metadata_v4_topic_error(self.port, "half-a", allow_auto_topic_creation=False)[1], 3)
        self.assert_cluster_serves()

    def test_validate_only_with_int32_max_partitions_allocates_nothing(self):
        before = self.controller_rss_kb()
        for validate_only in (True, False):
            [(_, error, _)] = kw.create_topics_v7(self.port, [("huge", 2**31 - 1, 1)], validate_only=validate_only)
            self.assertEqual(error, 44, "POLICY_VIOLATION expected")
        [(_, error, _)] = kw.create_topics_v7(self.port, [("wide", 1, 32767)], validate_only=True)
        self.assertEqual(error, 38, "INVALID_REPLICATION_FACTOR expected")
        [(_, error, _)] = kw.create_partitions_v3(self.port, [("corrupt", 2**31 - 1)], validate_only=True)
        self.assertEqual(error, 44, "POLICY_VIOLATION expected for CreatePartitions")
        [(_, error, _)] = kw.create_topics_v7(self.port, [("ten-thousand", 10_000, 1)], validate_only=True)
        self.assertEqual(error, 0, "10,000 partitions are within the limit")
        grown_mb = (self.controller_rss_kb() - before) / 1024
        self.assertLess(grown_mb, 200, f"the controller grew by {grown_mb:.0f} MB validating requests")
        self.assert_cluster_serves()

    def test_topic_names_that_are_not_utf8_are_refused_with_kafka_codes(self):
        bad = b"bad\xff\xfename"
        [(name, error, _)] = kw.create_topics_v7(self.port, [(bad, 1, 1), ("fine-" + uuid.uuid4().hex[:8], 1, 1)])[:1]
        self.assertEqual((name, error), (bad, 17), "INVALID_TOPIC_EXCEPTION expected from CreateTopics")
        results = kw.create_topics_v7(self.port, [("ok-" + uuid.uuid4().hex[:8], 1, 1), (bad, 1, 1)])
        self.assertEqual([error for _, error, _ in results], [0, 17], "the valid topic of the request is created")
        self.assertEqual(kw.delete_topics_v6(self.port, [bad])[0][:2], (bad, 3), "UNKNOWN_TOPIC_OR_PARTITION expected")
        self.assertEqual(kw.create_partitions_v3(self.port, [(bad, 2)])[0][:2], (bad, 3))
        self.assertEqual(kw.metadata_v4_topic_error(self.port, bad), (bad, 17), "auto-creation refuses the name")
        self.assertEqual(kw.metadata_v4_topic_error(self.port, "x" * 250), (b"x" * 250, 17))
        # Config names and values reach the controller as bytes, which it refuses as configs.
        [(_, error, _)] = kw.create_topics_v7(self.port, [("cfg-" + uuid.uuid4().hex[:8], 1, 1, {b"\xff": "1"})])
        self.assertEqual(error, 40, "INVALID_CONFIG expected for a config name that is not UTF-8")
        _, error, _ = kw.incremental_alter_topic_configs_v1(self.port, "corrupt", {b"retention\xff.ms": "1"})
        self.assertEqual(error, 40, "INVALID_CONFIG expected from IncrementalAlterConfigs")
        _, error, _ = kw.incremental_alter_topic_configs_v1(self.port, "corrupt", {"retention.ms": b"\xff"})
        self.assertEqual(error, 40, "INVALID_CONFIG expected for a value that is not UTF-8")
        name, error, _ = kw.incremental_alter_topic_configs_v1(self.port, bad, {"retention.ms": "1000"})
        self.assertEqual((name, error), (bad, 3), "UNKNOWN_TOPIC_OR_PARTITION expected from IncrementalAlterConfigs")
        self.assertNotIn("parse", self.cluster.controller.log().lower())
        self.assert_cluster_serves()

    def test_clients_cannot_produce_to_internal_topics(self):
        group = f"internal-{uuid.uuid4().hex[:8]}"
        consumer = Consumer({"bootstrap.servers": self.cluster.bootstrap, "group.id": group,
                             "enable.auto.commit": False})
        try:
            # The group coordinator's own appends still work: a commit is stored and read back.
            consumer.commit(offsets=[TopicPartition("corrupt", 0, 1)], asynchronous=False)
            [committed] = consumer.committed([TopicPartition("corrupt", 0)], timeout=30)
            self.assertEqual(committed.offset, 1)
        finally:
            consumer.close()
        for topic in ("__consumer_offsets", "__transaction_state"):
            conn = kw.Connection(self.port)
            conn.send(kw.request(0, 3, 11, kw.produce_v3(topic, 0, kw.record_batch([b"forged"]))))
            response = conn.receive()
            conn.close()
            error, _ = kw.parse_produce_v3_response(response[4:])
            self.assertEqual(error, 17, f"INVALID_TOPIC_EXCEPTION expected for a produce to {topic}")
        self.assert_cluster_serves()


if __name__ == "__main__":
    unittest.main()
