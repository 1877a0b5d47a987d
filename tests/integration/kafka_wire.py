"""Just enough of the Kafka wire format to send hand-made (and deliberately broken) requests."""
import socket
import struct


def _crc32c_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _varint(value):
    value = (value << 1) ^ (value >> 63)  # zigzag
    out = bytearray()
    while value & ~0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


TRANSACTIONAL = 0x10  # record batch attributes bit


def record_batch(values, producer_id=-1, producer_epoch=-1, base_sequence=-1, timestamp=1_700_000_000_000,
                 attributes=0):
    """An uncompressed v2 batch of keyless records."""
    records = b""
    for i, value in enumerate(values):
        body = b"\x00" + _varint(0) + _varint(i) + _varint(-1) + _varint(len(value)) + value + _varint(0)
        records += _varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", attributes, len(values) - 1, timestamp, timestamp, producer_id, producer_epoch,
                            base_sequence, len(values)) + records
    crc = crc32c(after_crc)
    head = struct.pack(">iBI", 0, 2, crc)  # partition leader epoch, magic, crc
    body = head + after_crc
    return struct.pack(">qi", 0, len(body)) + body


def string(s):
    if s is None:
        return struct.pack(">h", -1)
    data = s.encode()
    return struct.pack(">h", len(data)) + data


def request(api_key, version, correlation_id, body, client_id="it"):
    """A non-flexible request (header v1) with its size prefix."""
    payload = struct.pack(">hhi", api_key, version, correlation_id) + string(client_id) + body
    return struct.pack(">i", len(payload)) + payload


def produce_v3(topic, partition, batch, acks=-1):
    return (string(None) + struct.pack(">hii", acks, 10000, 1) + string(topic) + struct.pack(">ii", 1, partition) +
            struct.pack(">i", len(batch)) + batch)


def parse_produce_v3_response(body):
    """Returns (error_code, base_offset) of the single partition in a Produce v3 response."""
    pos = 4  # topic count
    (name_len,) = struct.unpack_from(">h", body, pos)
    pos += 2 + name_len + 4  # name, partition count
    _, error, base_offset = struct.unpack_from(">ihq", body, pos)
    return error, base_offset


class Connection:
    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send(self, data):
        self.sock.sendall(data)

    def receive(self):
        """One response frame without its size, or None when the broker closed the connection."""
        head = self._exactly(4)
        if head is None:
            return None
        (size,) = struct.unpack(">i", head)
        return self._exactly(size)

    def closed_by_peer(self):
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def _exactly(self, n):
        data = b""
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            data += chunk
        return data

    def close(self):
        self.sock.close()


# Flexible (compact) encodings, for the APIs whose every version is flexible.

def uvarint(value):
    out = bytearray()
    while value & ~0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def compact_string(s):
    """A compact string of str (UTF-8) or of raw bytes (which need not be UTF-8)."""
    data = s if isinstance(s, bytes) else s.encode()
    return uvarint(len(data) + 1) + data


def flexible_request(api_key, version, correlation_id, body, client_id="it"):
    """A flexible request (header v2: header v1 plus empty tagged fields) with its size prefix."""
    payload = struct.pack(">hhi", api_key, version, correlation_id) + string(client_id) + b"\x00" + body
    return struct.pack(">i", len(payload)) + payload


class Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def take(self, fmt):
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values if len(values) > 1 else values[0]

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def string(self):
        (n,) = struct.unpack_from(">h", self.data, self.pos)
        self.pos += 2
        if n < 0:
            return None
        out = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return out

    def compact_string(self):
        out = self.compact_bytes()
        return None if out is None else out.decode()

    def compact_bytes(self):
        """A compact string as raw bytes, for names that need not be UTF-8."""
        n = self.uvarint() - 1
        if n < 0:
            return None
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def compact_array(self, item):
        return [item() for _ in range(self.uvarint() - 1)]

    def array(self, item):
        return [item() for _ in range(self.take(">i"))]

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.pos += self.uvarint()


def exchange(port, frame, correlation_id, what, timeout=10):
    """Sends one request frame on a new connection; returns a Reader after the correlation id."""
    conn = Connection(port, timeout=timeout)
    try:
        conn.send(frame)
        answer = conn.receive()
    finally:
        conn.close()
    if answer is None:
        raise AssertionError(f"the broker closed the connection instead of answering {what}")
    r = Reader(answer)
    assert r.take(">i") == correlation_id
    return r


def describe_quorum_v2(port, correlation_id=1, topic="__cluster_metadata", partition=0):
    """DescribeQuorum v2 through a broker, parsed into dicts."""
    body = (uvarint(2) + compact_string(topic) + uvarint(2) + struct.pack(">i", partition) + b"\x00" + b"\x00" +
            b"\x00")
    r = exchange(port, flexible_request(55, 2, correlation_id, body), correlation_id, "DescribeQuorum")
    r.skip_tags()

    def replica():
        out = {"id": r.take(">i")}
        r.pos += 16  # directory id
        out["log_end_offset"], out["last_fetch"], out["last_caught_up"] = r.take(">qqq")
        r.skip_tags()
        return out

    def partition_data():
        out = {"partition": r.take(">i"), "error_code": r.take(">h"), "error_message": r.compact_string()}
        out["leader_id"], out["leader_epoch"], out["high_watermark"] = r.take(">iiq")
        out["voters"] = r.compact_array(replica)
        out["observers"] = r.compact_array(replica)
        r.skip_tags()
        return out

    def topic_data():
        out = {"topic": r.compact_string(), "partitions": r.compact_array(partition_data)}
        r.skip_tags()
        return out

    def listener():
        out = {"name": r.compact_string(), "host": r.compact_string(), "port": r.take(">H")}
        r.skip_tags()
        return out

    def node():
        out = {"id": r.take(">i"), "listeners": r.compact_array(listener)}
        r.skip_tags()
        return out

    response = {"error_code": r.take(">h"), "error_message": r.compact_string()}
    response["topics"] = r.compact_array(topic_data)
    response["nodes"] = r.compact_array(node)
    return response


def elect_leaders_v1(port, election_type, partitions, correlation_id=1):
    """ElectLeaders v1 (0 preferred, 1 unclean) for {topic: [partition, ...]} or None (all).
    Returns (error_code, {(topic, partition): error_code})."""
    if partitions is None:
        body = struct.pack(">b", election_type) + struct.pack(">i", -1)
    else:
        body = struct.pack(">bi", election_type, len(partitions))
        for topic, ids in partitions.items():
            body += string(topic) + struct.pack(">i", len(ids)) + b"".join(struct.pack(">i", i) for i in ids)
    body += struct.pack(">i", 30000)
    r = exchange(port, request(43, 1, correlation_id, body), correlation_id, "ElectLeaders", timeout=40)
    r.take(">i")  # throttle
    error = r.take(">h")
    results = {}
    for _ in range(r.take(">i")):
        topic = r.string()
        for _ in range(r.take(">i")):
            partition, code = r.take(">ih")
            r.string()
            results[(topic, partition)] = code
    return error, results


def alter_partition_reassignments_v0(port, topic, targets, correlation_id=1):
    """AlterPartitionReassignments v0 for {partition: replicas, or None to cancel}.
    Returns (error_code, {partition: error_code})."""
    body = struct.pack(">i", 30000) + uvarint(2) + compact_string(topic) + uvarint(len(targets) + 1)
    for partition, replicas in targets.items():
        body += struct.pack(">i", partition)
        body += uvarint(0) if replicas is None else uvarint(len(replicas) + 1) + b"".join(
            struct.pack(">i", r) for r in replicas)
        body += b"\x00"
    body += b"\x00" + b"\x00"
    r = exchange(port, flexible_request(45, 0, correlation_id, body), correlation_id, "AlterPartitionReassignments",
                 timeout=40)
    r.skip_tags()
    r.take(">i")  # throttle
    error = r.take(">h")
    r.compact_string()
    results = {}

    def partition_result():
        partition, code = r.take(">ih")
        r.compact_string()
        r.skip_tags()
        results[partition] = code

    def topic_result():
        r.compact_string()
        r.compact_array(partition_result)
        r.skip_tags()
    r.compact_array(topic_result)
    return error, results


# Admin requests with raw (bytes) topic names, answered as lists of (name, error code, message).

def create_topics_v7(port, topics, validate_only=False, correlation_id=1):
    """topics: (name, num_partitions, replication_factor[, configs dict]) with bytes or str names."""
    body = uvarint(len(topics) + 1)
    for topic in topics:
        name, partitions, replication = topic[:3]
        configs = topic[3] if len(topic) > 3 else {}
        body += compact_string(name) + struct.pack(">ih", partitions, replication) + uvarint(1)
        body += uvarint(len(configs) + 1)
        for key, value in configs.items():
            body += compact_string(key) + compact_string(value) + b"\x00"
        body += b"\x00"
    body += struct.pack(">ib", 30000, 1 if validate_only else 0) + b"\x00"
    r = exchange(port, flexible_request(19, 7, correlation_id, body), correlation_id, "CreateTopics v7", timeout=40)
    r.skip_tags()
    r.take(">i")  # throttle

    def result():
        name = r.compact_bytes()
        r.pos += 16  # topic id
        error = r.take(">h")
        message = r.compact_bytes()
        r.take(">ih")  # partitions, replication factor
        configs = r.uvarint() - 1
        for _ in range(max(configs, 0)):
            r.compact_bytes(), r.compact_bytes(), r.take(">bbb"), r.skip_tags()
        r.skip_tags()
        return name, error, message
    return r.compact_array(result)


def delete_topics_v6(port, names, correlation_id=1):
    body = uvarint(len(names) + 1)
    for name in names:
        body += compact_string(name) + b"\x00" * 16 + b"\x00"
    body += struct.pack(">i", 30000) + b"\x00"
    r = exchange(port, flexible_request(20, 6, correlation_id, body), correlation_id, "DeleteTopics v6", timeout=40)
    r.skip_tags()
    r.take(">i")

    def result():
        name = r.compact_bytes()
        r.pos += 16
        error = r.take(">h")
        message = r.compact_bytes()
        r.skip_tags()
        return name, error, message
    return r.compact_array(result)


def create_partitions_v3(port, topics, validate_only=False, correlation_id=1):
    """topics: (name, new total count)."""
    body = uvarint(len(topics) + 1)
    for name, count in topics:
        body += compact_string(name) + struct.pack(">i", count) + uvarint(0) + b"\x00"
    body += struct.pack(">ib", 30000, 1 if validate_only else 0) + b"\x00"
    r = exchange(port, flexible_request(37, 3, correlation_id, body), correlation_id, "CreatePartitions v3", timeout=40)
    r.skip_tags()
    r.take(">i")

    def result():
        name = r.compact_bytes()
        error = r.take(">h")
        message = r.compact_bytes()
        r.skip_tags()
        return name, error, message
    return r.compact_array(result)


def incremental_alter_topic_configs_v1(port, topic, configs, correlation_id=1):
    """Sets configs (dict, bytes or str keys and values) of one topic; returns (name, error, message)."""
    body = uvarint(2) + struct.pack(">b", 2) + compact_string(topic) + uvarint(len(configs) + 1)
    for key, value in configs.items():
        body += compact_string(key) + struct.pack(">b", 0) + compact_string(value) + b"\x00"
    body += b"\x00" + struct.pack(">b", 0) + b"\x00"
    r = exchange(port, flexible_request(44, 1, correlation_id, body), correlation_id, "IncrementalAlterConfigs v1",
                 timeout=40)
    r.skip_tags()
    r.take(">i")

    def result():
        error = r.take(">h")
        message = r.compact_bytes()
        r.take(">b")
        name = r.compact_bytes()
        r.skip_tags()
        return name, error, message
    return r.compact_array(result)[0]


def metadata_v4_topic_error(port, name, allow_auto_topic_creation=True, correlation_id=1):
    """Metadata v4 for one topic (bytes or str name); returns its (name, error code)."""
    data = name if isinstance(name, bytes) else name.encode()
    body = struct.pack(">ih", 1, len(data)) + data + struct.pack(">b", 1 if allow_auto_topic_creation else 0)
    r = exchange(port, request(3, 4, correlation_id, body), correlation_id, "Metadata v4", timeout=40)
    r.take(">i")  # throttle
    for _ in range(r.take(">i")):
        r.take(">i"), r.string(), r.take(">i"), r.string()
    r.string()  # cluster id
    r.take(">i")  # controller id
    assert r.take(">i") == 1
    error = r.take(">h")
    n = r.take(">h")
    topic = r.data[r.pos:r.pos + n]
    return topic, error


def metadata_v8_authorized_operations(port, topics, correlation_id=1):
    """Metadata v8 for the named topics (None: all) with authorized operations asked for.
    Returns (cluster_authorized_operations, {name: (error_code, topic_authorized_operations)})."""
    if topics is None:
        body = struct.pack(">i", -1)
    else:
        body = struct.pack(">i", len(topics)) + b"".join(string(t) for t in topics)
    body += struct.pack(">bbb", 0, 1, 1)  # no auto-creation; cluster and topic operations
    r = exchange(port, request(3, 8, correlation_id, body), correlation_id, "Metadata v8", timeout=40)
    r.take(">i")  # throttle
    for _ in range(r.take(">i")):
        r.take(">i"), r.string(), r.take(">i"), r.string()
    r.string()  # cluster id
    r.take(">i")  # controller id
    found = {}
    for _ in range(r.take(">i")):
        error = r.take(">h")
        name = r.string()
        r.take(">b")  # is_internal
        for _ in range(r.take(">i")):
            r.take(">hiii")  # error, index, leader, leader epoch
            for _ in range(3):  # replicas, ISR, offline replicas
                r.array(lambda: r.take(">i"))
        found[name] = (error, r.take(">i"))
    return r.take(">i"), found


def describe_cluster_v0_authorized_operations(port, correlation_id=1):
    """DescribeCluster v0 asking for the cluster's authorized operations; returns
    (error_code, cluster_authorized_operations)."""
    body = struct.pack(">b", 1) + b"\x00"
    r = exchange(port, flexible_request(60, 0, correlation_id, body), correlation_id, "DescribeCluster")
    r.skip_tags()
    r.take(">i")  # throttle
    error = r.take(">h")
    r.compact_string()  # error message
    r.compact_string()  # cluster id
    r.take(">i")  # controller id

    def broker():
        r.take(">i"), r.compact_string(), r.take(">i"), r.compact_string()
        r.skip_tags()
    r.compact_array(broker)
    return error, r.take(">i")
