"""Transactions in the log, driven with raw frames, with the brokers' KIP-890 verification off
(transaction.partition.verification.enable=false) so that no transaction coordinator is
involved: transactional produce, WriteTxnMarkers, the last stable offset and
aborted transactions in Fetch, ListOffsets read_committed, DescribeProducers, all of it
rebuilt from the log after a crash, and held the same by a follower that becomes leader."""
import struct
import time
import unittest

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Cluster, wait_until
import kafka_wire as kw
import txn_wire

TOPIC = "txn"
COORDINATOR_EPOCH = 5
# The test plays the coordinator itself (its own markers), so partitions do not ask one.
UNVERIFIED = {"transaction.partition.verification.enable": "false"}


def init_producer_id(port, correlation_id):
    """InitProducerId v1 for an idempotent producer: (producer id, epoch)."""
    body = kw.string(None) + struct.pack(">i", 60000)
    r = kw.exchange(port, kw.request(22, 1, correlation_id, body), correlation_id, "InitProducerId")
    _throttle, error, producer_id, epoch = r.take(">ihqh")
    assert error == 0, f"InitProducerId error {error}"
    return producer_id, epoch


def produce(port, correlation_id, transactional_id, batch):
    """Produce v3 of one batch to TOPIC-0 (acks=all): (error, base offset)."""
    body = (kw.string(transactional_id) + struct.pack(">hii", -1, 10000, 1) + kw.string(TOPIC) +
            struct.pack(">ii", 1, 0) + struct.pack(">i", len(batch)) + batch)
    r = kw.exchange(port, kw.request(0, 3, correlation_id, body), correlation_id, "Produce")
    return kw.parse_produce_v3_response(r.data[r.pos:])


def write_txn_markers(port, correlation_id, markers):
    """WriteTxnMarkers v1; markers: (producer id, epoch, commit, coordinator epoch). Returns the
    error code of TOPIC-0 for each marker."""
    body = kw.uvarint(len(markers) + 1)
    for producer_id, epoch, commit, coordinator_epoch in markers:
        body += struct.pack(">qhb", producer_id, epoch, 1 if commit else 0)
        body += kw.uvarint(2) + kw.compact_string(TOPIC) + kw.uvarint(2) + struct.pack(">i", 0) + b"\x00"
        body += struct.pack(">i", coordinator_epoch) + b"\x00"
    body += b"\x00"
    r = kw.exchange(port, kw.flexible_request(27, 1, correlation_id, body), correlation_id, "WriteTxnMarkers")
    r.skip_tags()
    errors = []

    def partition():
        index, error = r.take(">ih")
        r.skip_tags()
        return index, error

    def topic():
        name = r.compact_string()
        partitions = r.compact_array(partition)
        r.skip_tags()
        return name, partitions

    def marker():
        producer_id = r.take(">q")
        topics = r.compact_array(topic)
        r.skip_tags()
        return producer_id, topics
    for _producer_id, topics in r.compact_array(marker):
        errors.append(topics[0][1][0][1])
    return errors


def batch_base_offsets(records):
    offsets = []
    pos = 0
    while pos + 12 <= len(records):
        base, length = struct.unpack_from(">qi", records, pos)
        offsets.append(base)
        pos += 12 + length
    return offsets


def fetch(port, correlation_id, isolation_level, offset=0):
    """Fetch v4 of TOPIC-0: dict of high watermark, last stable offset, aborted transactions
    (None when null) and the base offsets of the batches returned."""
    body = struct.pack(">iiiib", -1, 100, 1, 1 << 20, isolation_level) + struct.pack(">i", 1) + kw.string(TOPIC)
    body += struct.pack(">iiqi", 1, 0, offset, 1 << 20)
    r = kw.exchange(port, kw.request(1, 4, correlation_id, body), correlation_id, "Fetch")
    r.take(">i")  # throttle
    assert r.take(">i") == 1
    assert r.string() == TOPIC
    assert r.take(">i") == 1
    _index, error, high_watermark, last_stable = r.take(">ihqq")
    assert error == 0, f"Fetch error {error}"
    count = r.take(">i")
    aborted = None if count < 0 else sorted(r.take(">qq") for _ in range(count))
    size = r.take(">i")
    records = r.data[r.pos:r.pos + max(size, 0)]
    return {"high_watermark": high_watermark, "last_stable_offset": last_stable, "aborted": aborted,
            "batches": batch_base_offsets(records)}


def list_latest(port, correlation_id, isolation_level):
    """ListOffsets v2 LATEST of TOPIC-0."""
    body = struct.pack(">ib", -1, isolation_level) + struct.pack(">i", 1) + kw.string(TOPIC)
    body += struct.pack(">iiq", 1, 0, -1)
    r = kw.exchange(port, kw.request(2, 2, correlation_id, body), correlation_id, "ListOffsets")
    r.take(">i")
    assert r.take(">i") == 1
    r.string()
    assert r.take(">i") == 1
    _index, error, _timestamp, offset = r.take(">ihqq")
    assert error == 0, f"ListOffsets error {error}"
    return offset


def describe_producers(port, _correlation_id):
    """DescribeProducers v0 of TOPIC-0: {producer id: (epoch, last sequence, coordinator epoch,
    current txn start offset)}."""
    error, producers = txn_wire.describe_producers(port, TOPIC, 0)
    assert error == 0, f"DescribeProducers error {error}"
    return {p["producer_id"]: (p["epoch"], p["last_sequence"], p["coordinator_epoch"], p["txn_start_offset"])
            for p in producers}


class TxnLogTest(unittest.TestCase):
    def test_markers_lso_aborted_transactions_and_restart(self):
        with Cluster(brokers=1, broker_overrides=UNVERIFIED) as cluster:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            for future in admin.create_topics([NewTopic(TOPIC, 1, 1)]).values():
                future.result(30)
            port = cluster.broker_ports[0]
            correlation = iter(range(1, 10000))
            (a, a_epoch), (b, b_epoch), (c, c_epoch) = [init_producer_id(port, next(correlation)) for _ in range(3)]

            def txn_batch(values, producer_id, epoch, sequence):
                return kw.record_batch(values, producer_id, epoch, sequence, attributes=kw.TRANSACTIONAL)

            # Wait for the new partition's leader to accept writes.
            wait_until(lambda: produce(port, next(correlation), None, kw.record_batch([b"plain"]))[0] == 0, 30,
                       "the partition's leader to accept a plain produce")  # offset 0
            error, _ = produce(port, next(correlation), None, txn_batch([b"x"], a, a_epoch, 0))
            self.assertEqual(error, 53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED without a transactional id")
            self.assertEqual(produce(port, next(correlation), "ta", txn_batch([b"a1", b"a2"], a, a_epoch, 0)), (0, 1))
            self.assertEqual(produce(port, next(correlation), "tb", txn_batch([b"b1"], b, b_epoch, 0)), (0, 3))
            self.assertEqual(produce(port, next(correlation), "tc", txn_batch([b"c1"], c, c_epoch, 0)), (0, 4))

            # Open transactions hold the last stable offset at the first of them.
            before = fetch(port, next(correlation), 1)
            self.assertEqual((before["high_watermark"], before["last_stable_offset"]), (5, 1))
            self.assertEqual(before["batches"], [0])

            errors = write_txn_markers(port, next(correlation), [(a, a_epoch, True, COORDINATOR_EPOCH),
                                                                 (b, b_epoch, False, COORDINATOR_EPOCH)])
            self.assertEqual(errors, [0, 0])  # markers at 5 and 6
            stale = write_txn_markers(port, next(correlation), [(a, a_epoch, True, COORDINATOR_EPOCH - 1)])
            self.assertEqual(stale, [52], "TRANSACTION_COORDINATOR_FENCED for an older coordinator epoch")

            def check_state(high_watermark):
                uncommitted = fetch(port, next(correlation), 0)
                self.assertEqual(uncommitted["high_watermark"], high_watermark)
                self.assertEqual(uncommitted["last_stable_offset"], 4, "producer c's transaction is open at 4")
                self.assertIsNone(uncommitted["aborted"], "read_uncommitted gets no aborted transactions")
                self.assertEqual(uncommitted["batches"][:5], [0, 1, 3, 4, 5])
                committed = fetch(port, next(correlation), 1)
                self.assertEqual(committed["last_stable_offset"], 4)
                self.assertEqual(committed["batches"], [0, 1, 3], "read_committed stops at the LSO")
                self.assertEqual(committed["aborted"], [(b, 3)])
                self.assertEqual(fetch(port, next(correlation), 1, offset=4)["aborted"], [])
                self.assertEqual(list_latest(port, next(correlation), 0), high_watermark)
                self.assertEqual(list_latest(port, next(correlation), 1), 4)
                producers = describe_producers(port, next(correlation))
                self.assertEqual(producers[a], (a_epoch, 1, COORDINATOR_EPOCH, -1))
                self.assertEqual(producers[b], (b_epoch, 0, COORDINATOR_EPOCH, -1))
                self.assertEqual(producers[c], (c_epoch, 0, -1, 4))
            check_state(7)

            # Everything comes back from the log after a crash.
            cluster.brokers[0].kill9()
            cluster.start_broker(0)
            wait_until(lambda: list_latest_or_none(port, next(correlation)) == 7, 30,
                       "the restarted leader to serve offsets up to 7")
            check_state(7)

            # Ending c's transaction releases the LSO to the log end.
            self.assertEqual(write_txn_markers(port, next(correlation), [(c, c_epoch, True, COORDINATOR_EPOCH)]), [0])
            after = fetch(port, next(correlation), 1)
            self.assertEqual((after["high_watermark"], after["last_stable_offset"]), (8, 8))
            self.assertEqual(after["batches"], [0, 1, 3, 4, 5, 6, 7])
            self.assertEqual(after["aborted"], [(b, 3)])
            self.assertEqual(list_latest(port, next(correlation), 1), 8)
            self.assertEqual(describe_producers(port, next(correlation))[c], (c_epoch, 0, COORDINATOR_EPOCH, -1))

            # A real consumer skips the aborted records and the markers only when reading committed.
            self.assertEqual(consume_values(cluster.bootstrap, "read_committed", 4), [b"plain", b"a1", b"a2", b"c1"])
            self.assertEqual(consume_values(cluster.bootstrap, "read_uncommitted", 5),
                             [b"plain", b"a1", b"a2", b"b1", b"c1"])


    def test_idle_producers_expire_but_not_open_transactions(self):
        overrides = {**UNVERIFIED, "producer.id.expiration.ms": "2000",
                     "producer.id.expiration.check.interval.ms": "100"}
        with Cluster(brokers=1, broker_overrides=overrides) as cluster:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            for future in admin.create_topics([NewTopic(TOPIC, 1, 1)]).values():
                future.result(30)
            port = cluster.broker_ports[0]
            correlation = iter(range(1, 10000))
            (idle, idle_epoch), (open_, open_epoch) = [init_producer_id(port, next(correlation)) for _ in range(2)]
            now_ms = int(time.time() * 1000)
            wait_until(lambda: produce(port, next(correlation), None,
                                       kw.record_batch([b"i"], idle, idle_epoch, 0, timestamp=now_ms))[0] == 0, 30,
                       "the partition's leader to accept the idle producer's write")
            txn = kw.record_batch([b"o"], open_, open_epoch, 0, attributes=kw.TRANSACTIONAL, timestamp=now_ms)
            self.assertEqual(produce(port, next(correlation), "to", txn)[0], 0)
            self.assertEqual(set(describe_producers(port, next(correlation))), {idle, open_})
            # Kafka's producer.id.expiration.ms: the idle one goes, the one in a transaction stays.
            wait_until(lambda: set(describe_producers(port, next(correlation))) == {open_}, 30,
                       "the idle producer to expire")

    def test_a_new_leader_has_the_same_transaction_state(self):
        with Cluster(brokers=3, broker_overrides=UNVERIFIED) as cluster:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            for future in admin.create_topics([NewTopic(TOPIC, 1, 3)]).values():
                future.result(30)
            state = wait_until(lambda: (s := partition_state(cluster.bootstrap)) and len(s[1]) == 3 and s, 30,
                               "three in-sync replicas of txn-0")
            leader = state[0]
            port = cluster.broker_ports[leader - 1]
            correlation = iter(range(1, 10000))
            (a, a_epoch), (b, b_epoch) = [init_producer_id(port, next(correlation)) for _ in range(2)]

            def txn_batch(values, producer_id, epoch):
                return kw.record_batch(values, producer_id, epoch, 0, attributes=kw.TRANSACTIONAL)
            wait_until(lambda: produce(port, next(correlation), "ta", txn_batch([b"a1"], a, a_epoch))[0] == 0, 30,
                       "the leader to accept producer a's write")  # offset 0
            self.assertEqual(produce(port, next(correlation), "tb", txn_batch([b"b1"], b, b_epoch)), (0, 1))
            self.assertEqual(write_txn_markers(port, next(correlation), [(a, a_epoch, False, COORDINATOR_EPOCH)]),
                             [0])  # 2: aborts a
            self.assertEqual(fetch(port, next(correlation), 1)["last_stable_offset"], 1, "b is open at 1")

            cluster.brokers[leader - 1].kill9()
            state = wait_until(lambda: (s := partition_state(cluster.bootstrap)) and s[0] not in (-1, leader) and s,
                               30, f"a leader of txn-0 other than {leader}")
            port = cluster.broker_ports[state[0] - 1]
            # The follower rebuilt the same state from what it fetched.
            committed = wait_until(
                lambda: (f := fetch_or_none(port, next(correlation), 1)) and f["high_watermark"] == 3 and f, 30,
                "the new leader to serve txn-0 up to its high watermark 3")
            self.assertEqual(committed["last_stable_offset"], 1)
            self.assertEqual(committed["aborted"], [(a, 0)])
            self.assertEqual(describe_producers(port, next(correlation))[b], (b_epoch, 0, -1, 1))
            self.assertEqual(write_txn_markers(port, next(correlation), [(b, b_epoch, True, COORDINATOR_EPOCH)]),
                             [0])  # 3: commits b
            after = fetch(port, next(correlation), 1)
            self.assertEqual((after["high_watermark"], after["last_stable_offset"]), (4, 4))
            self.assertEqual(after["aborted"], [(a, 0)])
            self.assertEqual(after["batches"], [0, 1, 2, 3])


def consume_values(bootstrap, isolation_level, expected):
    """The values librdkafka hands out from TOPIC-0 at `isolation_level`, once it reached the log
    end (8) and holds at least `expected` of them."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
                         "isolation.level": isolation_level, "enable.partition.eof": True})
    consumer.assign([TopicPartition(TOPIC, 0, 0)])
    values = []
    at_end = []

    def done():
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            values.append(message.value())
        elif message is not None and message.error().code() == -191:  # _PARTITION_EOF
            at_end.append(message.offset())
        return len(values) >= expected and at_end and at_end[-1] == 8
    try:
        wait_until(done, 30, f"{expected} values from {TOPIC} at {isolation_level}", interval=0)
        # Nothing more arrives: an aborted record handed out late would show here.
        for _ in range(3):
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                values.append(message.value())
    finally:
        consumer.close()
    return values


def partition_state(bootstrap):
    """(leader, isr) of TOPIC-0 as a client sees them, or None while unknown."""
    try:
        metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(TOPIC, timeout=5)
    except Exception:  # a broker of the bootstrap list may be down
        return None
    info = metadata.topics.get(TOPIC)
    if info is None or info.error is not None or 0 not in info.partitions:
        return None
    return info.partitions[0].leader, sorted(info.partitions[0].isrs)


def fetch_or_none(port, correlation_id, isolation_level):
    try:
        return fetch(port, correlation_id, isolation_level)
    except (AssertionError, OSError):
        return None


def list_latest_or_none(port, correlation_id):
    try:
        return list_latest(port, correlation_id, 0)
    except (AssertionError, OSError):
        return None


if __name__ == "__main__":
    unittest.main()
