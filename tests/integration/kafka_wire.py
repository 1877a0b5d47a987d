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
