"""Raw frames for the transaction APIs, for what python3-confluent-kafka 1.7 and kafka-python
lack (the admin calls kafka-transactions.sh makes) and for driving the coordinator step by step:
FindCoordinator for a transactional id, InitProducerId, AddPartitionsToTxn, EndTxn,
DescribeTransactions, ListTransactions and DescribeProducers."""
import struct

import kafka_wire as w
from harness import wait_until

NONE = 0
NOT_COORDINATOR = 16
COORDINATOR_LOAD_IN_PROGRESS = 14
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
INVALID_TRANSACTION_TIMEOUT = 50
CONCURRENT_TRANSACTIONS = 51
UNKNOWN_TOPIC_OR_PARTITION = 3
OPERATION_NOT_ATTEMPTED = 55
PRODUCER_FENCED = 90
TRANSACTIONAL_ID_NOT_FOUND = 105

_correlation = [0]


def _next_id():
    _correlation[0] += 1
    return _correlation[0]


def find_txn_coordinator(port, txn_id):
    """FindCoordinator v1 for a transactional id: (error, node id, port)."""
    cid = _next_id()
    r = w.exchange(port, w.request(10, 1, cid, w.string(txn_id) + struct.pack(">b", 1)), cid, "FindCoordinator")
    r.take(">i")  # throttle
    error = r.take(">h")
    r.string()
    node = r.take(">i")
    r.string()
    return error, node, r.take(">i")


def init_producer_id(port, txn_id, timeout_ms):
    """InitProducerId v1: (error, producer id, epoch)."""
    cid = _next_id()
    r = w.exchange(port, w.request(22, 1, cid, w.string(txn_id) + struct.pack(">i", timeout_ms)), cid, "InitProducerId")
    r.take(">i")
    return r.take(">h"), r.take(">q"), r.take(">h")


def add_partitions(port, txn_id, producer_id, epoch, topics, version=1):
    """AddPartitionsToTxn v1/v2 (topics: {name: [partitions]}): {(topic, partition): error}."""
    body = w.string(txn_id) + struct.pack(">qh", producer_id, epoch) + struct.pack(">i", len(topics))
    for name, partitions in topics.items():
        body += w.string(name) + struct.pack(">i", len(partitions)) + b"".join(struct.pack(">i", p) for p in partitions)
    cid = _next_id()
    r = w.exchange(port, w.request(24, version, cid, body), cid, "AddPartitionsToTxn")
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        name = r.string()
        for _ in range(r.take(">i")):
            partition, error = r.take(">ih")
            out[(name, partition)] = error
    return out


def end_txn(port, txn_id, producer_id, epoch, commit, version=1):
    cid = _next_id()
    body = w.string(txn_id) + struct.pack(">qhb", producer_id, epoch, 1 if commit else 0)
    r = w.exchange(port, w.request(26, version, cid, body), cid, "EndTxn")
    r.take(">i")
    return r.take(">h")


def describe_transactions(port, txn_ids):
    """DescribeTransactions v0: a list of dicts, one per id."""
    cid = _next_id()
    body = w.uvarint(len(txn_ids) + 1) + b"".join(w.compact_string(t) for t in txn_ids) + b"\x00"
    r = w.exchange(port, w.flexible_request(65, 0, cid, body), cid, "DescribeTransactions")
    r.skip_tags()
    r.take(">i")

    def topic():
        name = r.compact_string()
        partitions = r.compact_array(lambda: r.take(">i"))
        r.skip_tags()
        return name, partitions

    def state():
        s = {"error": r.take(">h"), "id": r.compact_string(), "state": r.compact_string(),
             "timeout_ms": r.take(">i"), "start_ms": r.take(">q"), "producer_id": r.take(">q"),
             "epoch": r.take(">h"), "topics": dict(r.compact_array(topic))}
        r.skip_tags()
        return s
    return r.compact_array(state)


def list_transactions(port, states=(), producer_ids=(), duration_ms=-1):
    """ListTransactions v1: (error, unknown state filters, {id: (producer id, state)}). Waits
    while some partition of __transaction_state is still loading."""
    return wait_until(lambda: (lambda r: None if r[0] == COORDINATOR_LOAD_IN_PROGRESS else r)(
        _list_transactions(port, states, producer_ids, duration_ms)), 30, "ListTransactions past loading")


def _list_transactions(port, states, producer_ids, duration_ms):
    cid = _next_id()
    body = (w.uvarint(len(states) + 1) + b"".join(w.compact_string(s) for s in states) +
            w.uvarint(len(producer_ids) + 1) + b"".join(struct.pack(">q", p) for p in producer_ids) +
            struct.pack(">q", duration_ms) + b"\x00")
    r = w.exchange(port, w.flexible_request(66, 1, cid, body), cid, "ListTransactions")
    r.skip_tags()
    r.take(">i")
    error = r.take(">h")
    unknown = r.compact_array(r.compact_string)

    def state():
        s = (r.compact_string(), r.take(">q"), r.compact_string())
        r.skip_tags()
        return s
    listed = {txn_id: (pid, name) for txn_id, pid, name in r.compact_array(state)}
    return error, unknown, listed


def describe_producers(port, topic, partition):
    """(error, [dict(producer_id, epoch, last_sequence, coordinator_epoch, txn_start_offset)])."""
    body = (w.uvarint(2) + w.compact_string(topic) + w.uvarint(2) + struct.pack(">i", partition) + b"\x00" +
            b"\x00")
    r = w.exchange(port, w.flexible_request(61, 0, 74, body), 74, "DescribeProducers")
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
