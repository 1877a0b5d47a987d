"""Metadata v7 and DescribeQuorum v2 as raw frames to one chosen broker (host:port), so a poll
asks exactly the broker it means to and a dead or paused one costs one short socket timeout.
Encodings come from tests/integration/kafka_wire.py."""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import kafka_wire  # noqa: E402


def exchange(host, port, frame, timeout):
    """Sends one request frame and returns the response frame (without its size)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(frame)
        head = _exactly(sock, 4)
        (size,) = struct.unpack(">i", head)
        return _exactly(sock, size)


def _exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the broker closed the connection before answering")
        data += chunk
    return data


def metadata(host, port, topics, timeout=0.5, correlation_id=7):
    """Metadata v7 for `topics`: {"brokers": {id: (host, port)}, "topics": {name: {"error": code,
    "partitions": {index: {"leader", "epoch", "replicas", "isr"}}}}}."""
    body = struct.pack(">i", len(topics)) + b"".join(kafka_wire.string(t) for t in topics) + b"\x00"
    r = kafka_wire.Reader(exchange(host, port, kafka_wire.request(3, 7, correlation_id, body, "fault"), timeout))
    assert r.take(">i") == correlation_id
    r.take(">i")  # throttle

    def broker():
        node, host_, port_ = r.take(">i"), r.string(), r.take(">i")
        r.string()  # rack
        return node, (host_, port_)
    brokers = dict(r.array(broker))
    r.string()  # cluster id
    r.take(">i")  # controller id

    def partition():
        error, index, leader, epoch = r.take(">hiii")
        replicas = r.array(lambda: r.take(">i"))
        isr = r.array(lambda: r.take(">i"))
        r.array(lambda: r.take(">i"))  # offline replicas
        return index, {"error": error, "leader": leader, "epoch": epoch, "replicas": sorted(replicas), "isr": sorted(isr)}

    def topic():
        error, name = r.take(">h"), r.string()
        r.take(">b")  # internal
        return name, {"error": error, "partitions": dict(r.array(partition))}
    return {"brokers": brokers, "topics": dict(r.array(topic))}


def describe_quorum(host, port, timeout=1.0, correlation_id=9):
    """DescribeQuorum v2 through a broker: {"leader_id", "leader_epoch", "high_watermark"} of
    __cluster_metadata-0, or None when the broker could not reach a quorum leader."""
    body = (kafka_wire.uvarint(2) + kafka_wire.compact_string("__cluster_metadata") + kafka_wire.uvarint(2) +
            struct.pack(">i", 0) + b"\x00" + b"\x00" + b"\x00")
    r = kafka_wire.Reader(exchange(host, port, kafka_wire.flexible_request(55, 2, correlation_id, body, "fault"), timeout))
    assert r.take(">i") == correlation_id
    r.skip_tags()
    if r.take(">h") != 0:
        return None
    r.compact_string()  # error message
    if r.uvarint() - 1 < 1:  # topics
        return None
    r.compact_string()  # topic name
    if r.uvarint() - 1 < 1:  # partitions
        return None
    r.take(">i")  # partition index
    if r.take(">h") != 0:
        return None
    r.compact_string()
    leader, epoch, high_watermark = r.take(">iiq")
    return {"leader_id": leader, "leader_epoch": epoch, "high_watermark": high_watermark}
