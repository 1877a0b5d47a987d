"""Log compaction (cleanup.policy=compact) with real clients: the cleaner runs on the broker's
maintenance thread and leaves the latest value of each key; keyless records are refused.

Run: SLUICE_BUILD_DIR=<build> /usr/bin/python3 -m unittest test_compaction   (from tests/integration)
"""
import unittest

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

from harness import REPLICATION, Cluster, wait_until

OVERRIDES = {"log.cleaner.backoff.ms": "100", "log.retention.check.interval.ms": "100"}
TOPIC = "compacted"
KEYS = [f"k{i}" for i in range(10)]
ROUNDS = 20


def read_all(bootstrap, topic):
    """Every record of partition 0 up to its high watermark, as (offset, key, value)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "compaction-reader",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        records = []

        def caught_up():
            msg = consumer.poll(0.2)
            if msg is not None:
                if msg.error():
                    raise AssertionError(f"consume failed: {msg.error()}")
                records.append((msg.offset(), msg.key(), msg.value()))
            return not records and high == 0 or records and records[-1][0] >= high - 1
        wait_until(caught_up, 30, f"reading {topic} up to offset {high}")
        return records
    finally:
        consumer.close()


class CompactionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(broker_overrides=OVERRIDES).__enter__()
        admin = AdminClient({"bootstrap.servers": cls.cluster.bootstrap})
        configs = {"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"}
        admin.create_topics([NewTopic(TOPIC, 1, REPLICATION, config=configs)])[TOPIC].result(30)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def test_latest_value_of_each_key_survives(self):
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap, "linger.ms": 5})
        for round_ in range(ROUNDS):
            for key in KEYS:
                producer.produce(TOPIC, key=key.encode(), value=f"r{round_}-{key}".encode())
            self.assertEqual(producer.flush(30), 0)
        latest = {key.encode(): f"r{ROUNDS - 1}-{key}".encode() for key in KEYS}

        def compacted():
            # A segment rolls (segment.ms) only when a record arrives: a tick record per poll
            # closes the segment holding the rounds, which the cleaner then compacts.
            producer.produce(TOPIC, key=b"tick", value=b"t")
            producer.flush(30)
            records = read_all(self.cluster.bootstrap, TOPIC)
            keyed = [(k, v) for _, k, v in records if k != b"tick"]
            return records if sorted(keyed) == sorted(latest.items()) else None
        records = wait_until(compacted, 60, "compaction to leave one value per key", interval=0.3)
        offsets = [offset for offset, _, _ in records]
        self.assertEqual(offsets, sorted(set(offsets)), "offsets must ascend without repeats")
        self.assertGreaterEqual(offsets[0], 0)

    def test_keyless_record_is_refused(self):
        errors = []
        producer = Producer({"bootstrap.servers": self.cluster.bootstrap, "retries": 0})
        producer.produce(TOPIC, value=b"no key", on_delivery=lambda err, msg: errors.append(err))
        self.assertEqual(producer.flush(30), 0)
        self.assertEqual(len(errors), 1)
        self.assertIsNotNone(errors[0], "a keyless record must be refused by a compacted topic")
        self.assertEqual(errors[0].code(), KafkaError.INVALID_RECORD)


if __name__ == "__main__":
    unittest.main()
