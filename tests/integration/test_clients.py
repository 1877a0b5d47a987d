"""kcat and kafka-python against a real broker: metadata, produce, consume, offsets."""
import subprocess
import time
import unittest

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from harness import REPLICATION, Cluster, wait_until


def kcat(*args, input=None, timeout=60):
    done = subprocess.run(["kcat", *args], input=input, capture_output=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"kcat {' '.join(args)} failed: {done.stderr.decode()}")
    return done.stdout.decode()


class ClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(broker_overrides={"num.partitions": "3", "log.retention.check.interval.ms": "100"}).__enter__()
        cls.bootstrap = cls.cluster.bootstrap

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def test_kcat_metadata_produce_consume(self):
        listing = kcat("-b", self.bootstrap, "-L")
        self.assertIn("broker 1 at 127.0.0.1", listing)
        lines = "".join(f"key{i % 5}:value-{i}\n" for i in range(2000))
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            topic = f"kcat-{codec}"
            kcat("-b", self.bootstrap, "-P", "-t", topic, "-K:", "-z", codec, input=lines.encode())
            out = kcat("-b", self.bootstrap, "-C", "-t", topic, "-e", "-q", "-f", "%p %o %k %s\\n")
            records = [line.split(" ") for line in out.splitlines()]
            self.assertEqual(len(records), 2000, codec)
            self.assertEqual(sorted(r[3] for r in records), sorted(f"value-{i}" for i in range(2000)))
            # Per-key order: each key's values ascend within its partition.
            by_key = {}
            for partition, offset, key, value in records:
                by_key.setdefault(key, []).append((int(partition), int(offset), int(value.split("-")[1])))
            for key, entries in by_key.items():
                self.assertEqual(len({p for p, _, _ in entries}), 1, f"key {key} spans partitions")
                entries.sort()
                self.assertEqual([v for _, _, v in entries], sorted(v for _, _, v in entries), f"key {key} out of order")

    def test_auto_create_uses_num_partitions(self):
        kcat("-b", self.bootstrap, "-P", "-t", "auto-created", input=b"one\n")
        self.assertIn('topic "auto-created" with 3 partitions', kcat("-b", self.bootstrap, "-L", "-t", "auto-created"))

    def test_kafka_python_roundtrip_and_offsets(self):
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        admin.create_topics([NewTopic("kp", 2, REPLICATION)])
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, compression_type="gzip", acks="all")
        for i in range(1000):
            producer.send("kp", key=b"k%d" % (i % 10), value=b"value-%d" % i)
        producer.flush(30)
        partitions = [TopicPartition("kp", 0), TopicPartition("kp", 1)]
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, consumer_timeout_ms=10000)
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        values = [m.value for m in consumer]
        self.assertEqual(sorted(values), sorted(b"value-%d" % i for i in range(1000)))
        ends = consumer.end_offsets(partitions)
        self.assertEqual(sum(ends.values()), 1000)
        self.assertEqual(consumer.beginning_offsets(partitions), {p: 0 for p in partitions})
        found = consumer.offsets_for_times({partitions[0]: 0})
        self.assertEqual(found[partitions[0]].offset, 0)
        consumer.close()
        admin.close()

    def test_log_append_time(self):
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        admin.create_topics([NewTopic("appendtime", 1, REPLICATION, topic_configs={"message.timestamp.type": "LogAppendTime"})])
        producer = KafkaProducer(bootstrap_servers=self.bootstrap)
        before = int(time.time() * 1000)
        metadata = producer.send("appendtime", b"v", timestamp_ms=1000).get(30)
        after = int(time.time() * 1000)
        self.assertTrue(before - 1000 <= metadata.timestamp <= after + 1000, metadata)
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, consumer_timeout_ms=10000)
        consumer.assign([TopicPartition("appendtime", 0)])
        consumer.seek_to_beginning()
        record = next(iter(consumer))
        self.assertEqual(record.timestamp_type, 1, "LogAppendTime")
        self.assertNotEqual(record.timestamp, 1000)
        consumer.close()
        producer.close()
        admin.close()

    def test_retention_deletes_old_segments(self):
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        admin.create_topics([NewTopic("short-lived", 1, REPLICATION, topic_configs={"retention.ms": "500", "segment.ms": "100"})])
        producer = KafkaProducer(bootstrap_servers=self.bootstrap)
        for i in range(10):
            producer.send("short-lived", b"old-%d" % i).get(30)
        partition = TopicPartition("short-lived", 0)
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap)
        wait_until(lambda: consumer.beginning_offsets([partition])[partition] == 10, 30,
                   "retention to delete the expired segments (log start offset 10)")
        self.assertEqual(consumer.end_offsets([partition])[partition], 10)
        consumer.close()
        producer.close()
        admin.close()

    def test_large_message_needs_raised_limit(self):
        big = b"x" * (2 * 1024 * 1024)
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        admin.create_topics([NewTopic("big", 1, REPLICATION, topic_configs={"max.message.bytes": str(12 * 1024 * 1024)})])
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, max_request_size=12 * 1024 * 1024)
        producer.send("big", big).get(30)
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, consumer_timeout_ms=10000,
                                 fetch_max_bytes=12 * 1024 * 1024, max_partition_fetch_bytes=12 * 1024 * 1024)
        consumer.assign([TopicPartition("big", 0)])
        consumer.seek_to_beginning()
        self.assertEqual([m.value for m in consumer], [big])
        consumer.close()
        # Over the default 1 MiB limit of another topic: refused with MESSAGE_TOO_LARGE.
        admin.create_topics([NewTopic("small", 1, REPLICATION)])
        with self.assertRaises(Exception) as raised:
            producer.send("small", big).get(30)
        self.assertIn("MessageSizeTooLarge", type(raised.exception).__name__ + str(raised.exception))
        producer.close()
        admin.close()


if __name__ == "__main__":
    unittest.main()
