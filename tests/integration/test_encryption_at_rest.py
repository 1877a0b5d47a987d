"""Encryption at rest (log.encryption.enable): no plaintext in any file under log.dirs, data
that reads back after restarts and after master-key rotation, data keys rewrapped under the new
key, refusal to start with a wrong, missing or disabled master key, and replication between
brokers that all encrypt."""
import glob
import os
import secrets
import shutil
import struct
import subprocess
import tempfile
import unittest

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Cluster, wait_until

MARKER = b"TOP-SECRET-PLAINTEXT-"
DELETE_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js", "delete_records.js")
SLOT_BYTES = 512
MAGIC = b"\xffSLUENC1"


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def header_key_id(path):
    """The key id of an encrypted segment's current header slot (docs/architecture.md), or None
    for a plaintext segment."""
    with open(path, "rb") as f:
        header = f.read(2 * SLOT_BYTES)
    best = None
    for i in range(2):
        slot = header[i * SLOT_BYTES:(i + 1) * SLOT_BYTES]
        if len(slot) < SLOT_BYTES or not slot.startswith(MAGIC):
            continue
        if struct.unpack(">I", slot[508:512])[0] != crc32c(slot[:508]):
            continue
        sequence = struct.unpack(">Q", slot[12:20])[0]
        key_id = slot[53:53 + slot[52]].decode()
        if best is None or sequence > best[0]:
            best = (sequence, key_id)
    return None if best is None else best[1]


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_keys(path, *lines):
    with open(path, "w") as f:
        f.write("# test master keys\n" + "".join(f"{line}\n" for line in lines))


def new_key(key_id):
    return f"{key_id} {secrets.token_hex(32)}"


def files_containing(root, needle):
    found = []
    for path in glob.glob(os.path.join(root, "**"), recursive=True):
        if os.path.isfile(path):
            if needle in read_bytes(path):
                found.append(path)
    return found


def segment_logs(root):
    return sorted(glob.glob(os.path.join(root, "*", "*.log")))


class EncryptionAtRestTest(unittest.TestCase):
    def setUp(self):
        self.keys_dir = tempfile.mkdtemp(prefix="sluice-keys-")
        self.key_file = os.path.join(self.keys_dir, "master.keys")
        self.addCleanup(shutil.rmtree, self.keys_dir, True)

    def overrides(self):
        return {"log.encryption.enable": "true", "log.encryption.master.key.file": self.key_file}

    def create(self, cluster, topic, replicas):
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        for future in admin.create_topics([NewTopic(topic, 1, replicas, config={"segment.bytes": "65536"})]).values():
            future.result(30)

    def produce(self, cluster, topic, count, start=0):
        # Small batches, so that 5,000 records fill several 64 KiB segments however they are timed.
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "linger.ms": 5,
                             "batch.size": 16384})
        errors = []
        for i in range(start, count):
            producer.produce(topic, key=b"k%d" % (i % 10), value=MARKER + b"%06d" % i,
                             on_delivery=lambda err, _: err and errors.append(err))
            if i % 1000 == 0:
                producer.poll(0)
        self.assertEqual(producer.flush(60), 0, "messages left undelivered")
        self.assertEqual(errors, [])

    def consume(self, cluster, topic, count, group=None, start=0):
        """Reads records `start`..`count`-1 and checks their values; returns their timestamps."""
        config = {"bootstrap.servers": cluster.bootstrap, "group.id": group or "reader",
                  "enable.auto.commit": False, "enable.partition.eof": False}
        consumer = Consumer(config)
        consumer.assign([TopicPartition(topic, 0, start)])
        values = []
        timestamps = []

        def done():
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value())
                timestamps.append(message.timestamp()[1])
            return len(values) >= count - start
        try:
            wait_until(done, 60, f"{count} records of {topic}", interval=0)
            if group:
                consumer.commit(asynchronous=False)  # __consumer_offsets gets a record too
        finally:
            consumer.close()
        self.assertEqual(values, [MARKER + b"%06d" % i for i in range(start, count)])
        return timestamps

    def restart_broker(self, cluster, index=0):
        cluster.brokers[index].stop()
        cluster.start_broker(index)

    def expect_refusal(self, cluster, *fragments):
        """The broker exits at start, its log saying why."""
        broker = cluster.brokers[0]
        start = len(broker.log()) if os.path.exists(broker.log_path) else 0
        broker.start()
        wait_until(lambda: not broker.alive(), 30, "the broker to refuse to start")
        self.assertNotEqual(broker.proc.returncode, 0)
        log = broker.log()[start:]
        for fragment in fragments:
            self.assertIn(fragment, log)

    def test_no_plaintext_on_disk_restart_rotation_and_wrong_key(self):
        write_keys(self.key_file, new_key("k1"))
        cluster = Cluster(brokers=1, broker_overrides=self.overrides())
        with cluster:
            data_dir = os.path.join(cluster.dir, "broker-1")
            self.create(cluster, "secrets", 1)
            self.produce(cluster, "secrets", 5000)
            self.consume(cluster, "secrets", 5000, group="secret-group")
            cluster.brokers[0].stop()
            self.assertEqual(files_containing(data_dir, MARKER), [])
            self.assertEqual(files_containing(data_dir, b"secret-group"), [])  # __consumer_offsets too
            logs = segment_logs(data_dir)
            self.assertGreaterEqual(len([p for p in logs if "secrets-0" in p]), 2, "several segments")
            self.assertEqual({header_key_id(p) for p in logs}, {"k1"})

            cluster.start_broker(0)
            self.consume(cluster, "secrets", 5000)

            # Rotation: a new last key in the file; the restart rewraps every data key.
            old_keys = read_bytes(self.key_file).decode()
            with open(self.key_file, "a") as f:
                f.write(new_key("k2") + "\n")
            before = {p: read_bytes(p)[2 * SLOT_BYTES:] for p in segment_logs(data_dir)}
            self.restart_broker(cluster)
            self.assertIn("rewrapped under it", cluster.brokers[0].log())
            self.consume(cluster, "secrets", 5000)
            cluster.brokers[0].stop()
            logs = segment_logs(data_dir)
            self.assertEqual({header_key_id(p) for p in logs}, {"k2"})
            for path, data in before.items():  # the data was not rewritten
                self.assertEqual(read_bytes(path)[2 * SLOT_BYTES:], data, path)
            # Only k2 is needed now.
            rotated = read_bytes(self.key_file).decode().splitlines()
            write_keys(self.key_file, [line for line in rotated if line.startswith("k2 ")][0])
            cluster.start_broker(0)
            self.consume(cluster, "secrets", 5000)
            # A crash: recovery authenticates the chunks past the recovery point and keeps every
            # acknowledged record.
            self.produce(cluster, "secrets", 6000, start=5000)
            cluster.brokers[0].kill9()
            cluster.start_broker(0)
            self.consume(cluster, "secrets", 6000)
            cluster.brokers[0].stop()
            self.assertEqual(files_containing(data_dir, MARKER), [])

            # A wrong master key under the same id: refused, naming a segment and the key id.
            write_keys(self.key_file, new_key("k2"))
            self.expect_refusal(cluster, "cannot unwrap its data key with master key id 'k2'", ".log")
            # The key id missing from the file.
            write_keys(self.key_file, old_keys.strip().splitlines()[-1])
            self.expect_refusal(cluster, "master key id 'k2' is not in")
            # Encryption turned off while encrypted segments exist.
            cluster.brokers[0].argv += ["--override", "log.encryption.enable=false"]
            self.expect_refusal(cluster, "is encrypted (master key id 'k2') but log.encryption.enable is false")
            self.assertEqual(files_containing(data_dir, MARKER), [])

    def test_replicated_topic_with_encryption_on_every_broker(self):
        write_keys(self.key_file, new_key("k1"))
        with Cluster(brokers=3, broker_overrides=self.overrides()) as cluster:
            self.create(cluster, "replicated", 3)
            self.produce(cluster, "replicated", 3000)
            self.consume(cluster, "replicated", 3000)
            # Every follower holds the topic, encrypted.
            for i in range(3):
                directory = os.path.join(cluster.dir, f"broker-{i + 1}")
                wait_until(lambda: sum(os.path.getsize(p) for p in segment_logs(directory) if "replicated-0" in p)
                           > 3000 * len(MARKER), 30, f"broker-{i + 1} to replicate the topic")
            # ListOffsets by time (the time index) and DeleteRecords (kafkajs) on the encrypted log.
            timestamps = self.consume(cluster, "replicated", 3000)
            consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "times"})
            try:
                found = consumer.offsets_for_times([TopicPartition("replicated", 0, timestamps[1500])], 30)
            finally:
                consumer.close()
            self.assertEqual(found[0].offset, next(i for i, t in enumerate(timestamps) if t >= timestamps[1500]))
            done = subprocess.run(["node", DELETE_SCRIPT, cluster.bootstrap, "replicated", "0", "1000"],
                                  capture_output=True, text=True, timeout=60)
            self.assertEqual(done.stdout.strip(), "OK", done.stdout + done.stderr)
            self.consume(cluster, "replicated", 3000, start=1000)
            cluster.stop()
            for i in range(3):
                directory = os.path.join(cluster.dir, f"broker-{i + 1}")
                self.assertEqual(files_containing(directory, MARKER), [], f"broker-{i + 1}")
                logs = [p for p in segment_logs(directory) if "replicated-0" in p]
                self.assertTrue(logs)
                self.assertEqual({header_key_id(p) for p in logs}, {"k1"})
            cluster.start()
            self.consume(cluster, "replicated", 3000, start=1000)  # the log start survived too


if __name__ == "__main__":
    unittest.main()
