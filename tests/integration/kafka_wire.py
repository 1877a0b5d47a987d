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


def record_batch(values, producer_id=-1, producer_epoch=-1, base_sequence=-1, timestamp=1_700_000_000_000):
    """An uncompressed v2 batch of keyless records."""
    records = b""
    for i, value in enumerate(values):
        body = b"\x00" + _varint(0) + _varint(i) + _varint(-1) + _varint(len(value)) + value + _varint(0)
        records += _varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, timestamp, timestamp, producer_id, producer_epoch,
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
    data = s.encode()
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
        n = self.uvarint() - 1
        if n < 0:
            return None
        out = self.data[self.pos:self.pos + n].decode()
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
