"""Hand-made group requests (JoinGroup, SyncGroup, Heartbeat, ...) for exact error-path and
generation checks that real clients hide. Encodings follow the Kafka reference schemas."""
import struct

from kafka_wire import Connection, request, string

INVALID_GROUP_ID = 24
ILLEGAL_GENERATION = 22
REBALANCE_IN_PROGRESS = 27
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
UNKNOWN_TOPIC_OR_PARTITION = 3
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79
FENCED_INSTANCE_ID = 82
GROUP_SUBSCRIBED_TO_TOPIC = 86


class ConnectionClosed(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        value = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return value

    def bytes(self):
        n = self.take(">i")
        value = self.data[self.pos:self.pos + max(n, 0)]
        self.pos += max(n, 0)
        return value

    def uvarint(self):
        shift = result = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def compact_string(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        value = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return value

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.pos += self.uvarint()


def _bytes(b):
    return struct.pack(">i", len(b)) + b


def _array(items):
    return struct.pack(">i", len(items)) + b"".join(items)


def _compact_string(s):
    data = s.encode()
    return _uvarint(len(data) + 1) + data


def _uvarint(n):
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def call(conn, api_key, version, body, flexible=False):
    """Sends one request and returns a Reader positioned at the response body."""
    correlation = conn.next_correlation = getattr(conn, "next_correlation", 0) + 1
    if flexible:  # request header v2: header v1 plus (empty) tagged fields
        payload = struct.pack(">hhi", api_key, version, correlation) + string("it") + b"\x00" + body
        conn.send(struct.pack(">i", len(payload)) + payload)
    else:
        conn.send(request(api_key, version, correlation, body))
    frame = conn.receive()
    if frame is None:
        raise ConnectionClosed(f"api {api_key} v{version}: connection closed")
    reader = Reader(frame)
    if reader.take(">i") != correlation:
        raise AssertionError("correlation id mismatch")
    if flexible:
        reader.skip_tags()
    return reader


def connect(port):
    return Connection(port)


def find_coordinator(conn, key, key_type=0):
    r = call(conn, 10, 1, string(key) + struct.pack(">b", key_type))
    r.take(">i")
    error = r.take(">h")
    r.string()
    return error, r.take(">i")


def coordinator_ready(conn, group):
    """True once this broker coordinates `group` and has loaded it (creating the topic if needed)."""
    find_coordinator(conn, group)
    return heartbeat(conn, group, 0, "probe") not in (COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR,
                                                       COORDINATOR_NOT_AVAILABLE)


def find_coordinators_v4(conn, keys, key_type=0):
    body = struct.pack(">b", key_type) + _uvarint(len(keys) + 1) + b"".join(_compact_string(k) for k in keys) + b"\x00"
    r = call(conn, 10, 4, body, flexible=True)
    r.take(">i")
    out = {}
    for _ in range(r.uvarint() - 1):
        key = r.compact_string()
        node = r.take(">i")
        r.compact_string()
        r.take(">i")
        error = r.take(">h")
        r.compact_string()
        r.skip_tags()
        out[key] = (error, node)
    return out


def join_group(conn, group, member_id, instance=None, session_timeout=10000, version=5, metadata=b"sub",
               rebalance_timeout=30000):
    body = (string(group) + struct.pack(">ii", session_timeout, rebalance_timeout) + string(member_id) + string(instance) +
            string("consumer") + _array([string("range") + _bytes(metadata)]))
    r = call(conn, 11, version, body)
    r.take(">i")
    out = {"error": r.take(">h"), "generation": r.take(">i"), "protocol": r.string(), "leader": r.string(),
           "member_id": r.string()}
    out["members"] = [(r.string(), r.string(), r.bytes()) for _ in range(r.take(">i"))]
    return out


def sync_group(conn, group, generation, member_id, instance, assignments):
    body = (string(group) + struct.pack(">i", generation) + string(member_id) + string(instance) +
            _array([string(m) + _bytes(a) for m, a in assignments.items()]))
    r = call(conn, 14, 3, body)
    r.take(">i")
    return r.take(">h"), r.bytes()


def heartbeat(conn, group, generation, member_id, instance=None):
    r = call(conn, 12, 3, string(group) + struct.pack(">i", generation) + string(member_id) + string(instance))
    r.take(">i")
    return r.take(">h")


def leave_group(conn, group, member_id, instance=None):
    r = call(conn, 13, 3, string(group) + _array([string(member_id) + string(instance)]))
    r.take(">i")
    error = r.take(">h")
    members = [(r.string(), r.string(), r.take(">h")) for _ in range(r.take(">i"))]
    return error or members[0][2]


def offset_commit(conn, group, generation, member_id, topic, offsets):
    partitions = [struct.pack(">iq", p, o) + string("") for p, o in offsets.items()]
    body = (string(group) + struct.pack(">i", generation) + string(member_id) + struct.pack(">q", -1) +
            _array([string(topic) + _array(partitions)]))
    r = call(conn, 8, 2, body)
    out = {}
    for _ in range(r.take(">i")):
        r.string()
        for _ in range(r.take(">i")):
            partition, error = r.take(">ih")
            out[partition] = error
    return out


def offset_fetch(conn, group, topic, partitions):
    """{partition: (offset, error)} from OffsetFetch v1."""
    body = string(group) + _array([string(topic) + _array([struct.pack(">i", p) for p in partitions])])
    r = call(conn, 9, 1, body)
    out = {}
    for _ in range(r.take(">i")):
        r.string()
        for _ in range(r.take(">i")):
            partition, offset = r.take(">iq")
            r.string()
            out[partition] = (offset, r.take(">h"))
    return out


def offset_fetch_retrying(conn, group, topic, partitions):
    """Offsets once the coordinator answers without error, else None (still loading)."""
    answer = offset_fetch(conn, group, topic, partitions)
    if any(error for _, error in answer.values()):
        return None
    return {p: offset for p, (offset, _) in answer.items()}


def list_groups_v4(conn, states):
    body = _uvarint(len(states) + 1) + b"".join(_compact_string(s) for s in states) + b"\x00"
    r = call(conn, 16, 4, body, flexible=True)
    r.take(">i")
    r.take(">h")
    out = {}
    for _ in range(r.uvarint() - 1):
        group = r.compact_string()
        r.compact_string()
        out[group] = r.compact_string()
        r.skip_tags()
    return out


def delete_groups(port, groups):
    conn = Connection(port)
    r = call(conn, 42, 1, _array([string(g) for g in groups]))
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        group = r.string()
        out[group] = r.take(">h")
    conn.close()
    return out


def offset_delete(port, group, topic, partitions):
    conn = Connection(port)
    body = string(group) + _array([string(topic) + _array([struct.pack(">i", p) for p in partitions])])
    r = call(conn, 47, 0, body)
    error = r.take(">h")
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        r.string()
        for _ in range(r.take(">i")):
            partition, perror = r.take(">ih")
            out[partition] = perror
    conn.close()
    return error, out
