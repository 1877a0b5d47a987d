"""Hand-made DeleteRecords, DescribeLogDirs, ListClientMetricsResources and ApiVersions requests
for the exact answers (error codes, low watermarks, sizes) that the clients at hand do not expose.
Encodings follow the Kafka reference schemas."""
import struct

from kafka_wire import compact_string, exchange, flexible_request, request, string, uvarint

NONE = 0
OFFSET_OUT_OF_RANGE = 1
UNKNOWN_TOPIC_OR_PARTITION = 3
NOT_LEADER_OR_FOLLOWER = 6
REQUEST_TIMED_OUT = 7
INVALID_REQUEST = 42
POLICY_VIOLATION = 44
CLIENT_METRICS_RESOURCE = 16


def api_versions(port, correlation_id=1):
    """{api_key: (min, max)} from ApiVersions v0."""
    r = exchange(port, request(18, 0, correlation_id, b""), correlation_id, "ApiVersions")
    assert r.take(">h") == 0
    return {key: (lo, hi) for key, lo, hi in (r.take(">hhh") for _ in range(r.take(">i")))}


def delete_records_v1(port, offsets, timeout_ms=30000, correlation_id=1):
    """DeleteRecords v1 for {(topic, partition): offset}. Returns {(topic, partition): (error, low_watermark)}."""
    by_topic = {}
    for (topic, partition), offset in offsets.items():
        by_topic.setdefault(topic, []).append((partition, offset))
    body = struct.pack(">i", len(by_topic))
    for topic, partitions in by_topic.items():
        body += string(topic) + struct.pack(">i", len(partitions))
        body += b"".join(struct.pack(">iq", p, o) for p, o in partitions)
    body += struct.pack(">i", timeout_ms)
    r = exchange(port, request(21, 1, correlation_id, body), correlation_id, "DeleteRecords",
                 timeout=timeout_ms / 1000 + 10)
    r.take(">i")  # throttle
    out = {}
    for _ in range(r.take(">i")):
        topic = r.string()
        for _ in range(r.take(">i")):
            partition, low_watermark, error = r.take(">iqh")
            out[(topic, partition)] = (error, low_watermark)
    return out


def delete_records_v2(port, topic, partition, offset, timeout_ms=30000, correlation_id=1):
    """DeleteRecords v2 (flexible) for one partition. Returns (error, low_watermark)."""
    body = (uvarint(2) + compact_string(topic) + uvarint(2) + struct.pack(">iq", partition, offset) + b"\x00" + b"\x00" +
            struct.pack(">i", timeout_ms) + b"\x00")
    r = exchange(port, flexible_request(21, 2, correlation_id, body), correlation_id, "DeleteRecords",
                 timeout=timeout_ms / 1000 + 10)
    r.skip_tags()
    r.take(">i")  # throttle
    assert r.uvarint() == 2 and r.compact_string() == topic and r.uvarint() == 2
    returned, low_watermark, error = r.take(">iqh")
    assert returned == partition
    return error, low_watermark


def describe_log_dirs(port, version, topics=None, correlation_id=1):
    """DescribeLogDirs v1 (classic) or v2+ (flexible) for {topic: [partition, ...]} or None (all).
    Returns (error_code or None before v3, [dir dicts with 'partitions': {(topic, p): (size, lag, future)}])."""
    flexible = version >= 2
    if flexible:
        if topics is None:
            body = uvarint(0)
        else:
            body = uvarint(len(topics) + 1) + b"".join(
                compact_string(t) + uvarint(len(ps) + 1) + b"".join(struct.pack(">i", p) for p in ps) + b"\x00"
                for t, ps in topics.items())
        frame = flexible_request(35, version, correlation_id, body + b"\x00")
    else:
        if topics is None:
            body = struct.pack(">i", -1)
        else:
            body = struct.pack(">i", len(topics)) + b"".join(
                string(t) + struct.pack(">i", len(ps)) + b"".join(struct.pack(">i", p) for p in ps)
                for t, ps in topics.items())
        frame = request(35, version, correlation_id, body)
    r = exchange(port, frame, correlation_id, "DescribeLogDirs")
    if flexible:
        r.skip_tags()
    text = r.compact_string if flexible else r.string
    count = (lambda: r.uvarint() - 1) if flexible else (lambda: r.take(">i"))
    r.take(">i")  # throttle
    error = r.take(">h") if version >= 3 else None
    dirs = []
    for _ in range(count()):
        d = {"error_code": r.take(">h"), "log_dir": text(), "partitions": {}, "topics": []}
        for _ in range(count()):
            topic = text()
            d["topics"].append(topic)
            for _ in range(count()):
                partition, size, lag, future = r.take(">iqq?")
                d["partitions"][(topic, partition)] = (size, lag, future)
                if flexible:
                    r.skip_tags()
            if flexible:
                r.skip_tags()
        if version >= 4:
            d["total_bytes"], d["usable_bytes"] = r.take(">qq")
        if flexible:
            r.skip_tags()
        dirs.append(d)
    return error, dirs


def list_client_metrics_resources(port, correlation_id=1):
    """ListClientMetricsResources v0. Returns (error_code, [resource names])."""
    r = exchange(port, flexible_request(74, 0, correlation_id, b"\x00"), correlation_id, "ListClientMetricsResources")
    r.skip_tags()
    r.take(">i")  # throttle
    error = r.take(">h")

    def resource():
        name = r.compact_string()
        r.skip_tags()
        return name
    return error, r.compact_array(resource)


def incremental_alter_configs_v0(port, resource_type, name, configs, correlation_id=1):
    """IncrementalAlterConfigs v0 SETting {key: value} on one resource. Returns its error code."""
    body = struct.pack(">ib", 1, resource_type) + string(name) + struct.pack(">i", len(configs))
    body += b"".join(string(k) + struct.pack(">b", 0) + string(v) for k, v in configs.items()) + b"\x00"
    r = exchange(port, request(44, 0, correlation_id, body), correlation_id, "IncrementalAlterConfigs", timeout=40)
    r.take(">i")  # throttle
    assert r.take(">i") == 1
    return r.take(">h")
