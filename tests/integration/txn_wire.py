"""Raw frames for the transaction admin APIs that python3-confluent-kafka 1.7 and kafka-python
lack (what kafka-transactions.sh sends): FindCoordinator for a transactional id,
ListTransactions, DescribeTransactions and DescribeProducers."""
import struct

import kafka_wire as kw


def find_transaction_coordinator(port, transactional_id):
    """(error, node id) from FindCoordinator v1 with key type TRANSACTION."""
    body = kw.string(transactional_id) + struct.pack(">b", 1)
    r = kw.exchange(port, kw.request(10, 1, 71, body), 71, "FindCoordinator")
    r.take(">i")  # throttle
    error = r.take(">h")
    r.string()
    node = r.take(">i")
    return error, node


def list_transactions(port, states=(), producer_ids=()):
    """(error, [(transactional id, producer id, state)]) from ListTransactions v0."""
    body = (kw.uvarint(len(states) + 1) + b"".join(kw.compact_string(s) for s in states) +
            kw.uvarint(len(producer_ids) + 1) + b"".join(struct.pack(">q", p) for p in producer_ids) + b"\x00")
    r = kw.exchange(port, kw.flexible_request(66, 0, 72, body), 72, "ListTransactions")
    r.skip_tags()  # response header v1
    r.take(">i")
    error = r.take(">h")
    r.compact_array(r.compact_string)

    def state():
        item = (r.compact_string(), r.take(">q"), r.compact_string())
        r.skip_tags()
        return item
    return error, r.compact_array(state)


def describe_transactions(port, transactional_ids):
    """{id: dict(error, state, timeout_ms, start_ms, producer_id, epoch, partitions={topic: [..]})}."""
    body = kw.uvarint(len(transactional_ids) + 1) + b"".join(kw.compact_string(t) for t in transactional_ids) + b"\x00"
    r = kw.exchange(port, kw.flexible_request(65, 0, 73, body), 73, "DescribeTransactions")
    r.skip_tags()
    r.take(">i")

    def topic():
        name = r.compact_string()
        partitions = r.compact_array(lambda: r.take(">i"))
        r.skip_tags()
        return name, sorted(partitions)

    def state():
        error = r.take(">h")
        txn_id = r.compact_string()
        out = {"error": error, "state": r.compact_string(), "timeout_ms": r.take(">i"), "start_ms": r.take(">q"),
               "producer_id": r.take(">q"), "epoch": r.take(">h"), "partitions": dict(r.compact_array(topic))}
        r.skip_tags()
        return txn_id, out
    return dict(r.compact_array(state))


def describe_producers(port, topic, partition):
    """(error, [dict(producer_id, epoch, last_sequence, coordinator_epoch, txn_start_offset)])."""
    body = (kw.uvarint(2) + kw.compact_string(topic) + kw.uvarint(2) + struct.pack(">i", partition) + b"\x00" +
            b"\x00")
    r = kw.exchange(port, kw.flexible_request(61, 0, 74, body), 74, "DescribeProducers")
    r.skip_tags()
    r.take(">i")
    topics = []

    def producer():
        out = {"producer_id": r.take(">q"), "epoch": r.take(">i"), "last_sequence": r.take(">i")}
        r.take(">q")  # last timestamp
        out["coordinator_epoch"] = r.take(">i")
        out["txn_start_offset"] = r.take(">q")
        r.skip_tags()
        return out

    def partition_entry():
        r.take(">i")
        error = r.take(">h")
        r.compact_string()
        producers = r.compact_array(producer)
        r.skip_tags()
        return error, producers

    def topic_entry():
        r.compact_string()
        partitions = r.compact_array(partition_entry)
        r.skip_tags()
        topics.append(partitions)
    r.compact_array(topic_entry)
    return topics[0][0]
