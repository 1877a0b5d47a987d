"""Malformed and unsupported requests: the offending connection gets an error or is closed, and
the broker keeps serving everyone else."""
import struct
import unittest

from confluent_kafka.admin import AdminClient, NewTopic

from harness import Cluster
import kafka_wire as kw


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster().__enter__()
        cls.port = cls.cluster.broker_ports[0]
        admin = AdminClient({"bootstrap.servers": cls.cluster.bootstrap})
        for future in admin.create_topics([NewTopic("corrupt", 1, 1)]).values():
            future.result(30)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def assert_broker_serves(self):
        conn = kw.Connection(self.port)
        conn.send(kw.request(18, 0, 7, b""))
        response = conn.receive()
        conn.close()
        self.assertIsNotNone(response, "broker stopped answering ApiVersions")
        correlation, error = struct.unpack_from(">ih", response)
        self.assertEqual((correlation, error), (7, 0))

    def assert_closed_after(self, data):
        conn = kw.Connection(self.port)
        conn.send(data)
        self.assertTrue(conn.closed_by_peer(), f"connection not closed after {data[:16]!r}")
        conn.close()
        self.assert_broker_serves()

    def test_garbage(self):
        self.assert_closed_after(struct.pack(">i", 12) + b"\xff" * 12)

    def test_negative_length(self):
        self.assert_closed_after(struct.pack(">i", -5) + b"abc")

    def test_huge_length(self):
        self.assert_closed_after(struct.pack(">i", 2_000_000_000) + b"abc")

    def test_truncated_frame_then_disconnect(self):
        conn = kw.Connection(self.port)
        conn.send(struct.pack(">i", 100) + b"\x00\x12")
        conn.close()
        self.assert_broker_serves()

    def test_unknown_api_key(self):
        self.assert_closed_after(kw.request(999, 0, 1, b""))

    def test_unsupported_version_of_known_api(self):
        self.assert_closed_after(kw.request(3, 99, 1, b""))

    def test_truncated_body(self):
        # Metadata v1 with an array count promising topics that are not there.
        self.assert_closed_after(kw.request(3, 1, 1, struct.pack(">i", 5)))

    def test_api_versions_fallback_for_unknown_version(self):
        conn = kw.Connection(self.port)
        payload = struct.pack(">hhi", 18, 99, 42) + kw.string("it") + b"\x00"
        conn.send(struct.pack(">i", len(payload)) + payload)
        response = conn.receive()
        conn.close()
        correlation, error, count = struct.unpack_from(">ihi", response)
        self.assertEqual(correlation, 42)
        self.assertEqual(error, 35, "UNSUPPORTED_VERSION expected")
        ranges = {}
        for i in range(count):
            key, lo, hi = struct.unpack_from(">hhh", response, 10 + 6 * i)
            ranges[key] = (lo, hi)
        self.assertEqual(ranges[0][0], 0, "Produce is advertised from v0")
        self.assertIn(18, ranges)

    def test_old_produce_versions_get_unsupported_version(self):
        conn = kw.Connection(self.port)
        batch = kw.record_batch([b"x"])
        body = struct.pack(">hii", 1, 1000, 1) + kw.string("old") + struct.pack(">ii", 1, 0) + struct.pack(">i", len(batch)) + batch
        conn.send(kw.request(0, 2, 5, body))
        response = conn.receive()
        conn.close()
        self.assertIsNotNone(response)
        correlation = struct.unpack_from(">i", response)[0]
        self.assertEqual(correlation, 5)
        error = struct.unpack_from(">h", response, 4 + 4 + 2 + len("old") + 4 + 4)[0]
        self.assertEqual(error, 35)

    def test_corrupt_batch_is_refused_with_corrupt_message(self):
        conn = kw.Connection(self.port)
        batch = bytearray(kw.record_batch([b"payload"]))
        batch[-3] ^= 0xFF  # breaks the CRC
        conn.send(kw.request(0, 3, 9, kw.produce_v3("corrupt", 0, bytes(batch))))
        response = conn.receive()
        conn.close()
        error, _ = kw.parse_produce_v3_response(response[4:])
        self.assertEqual(error, 2, "CORRUPT_MESSAGE expected")
        self.assert_broker_serves()


if __name__ == "__main__":
    unittest.main()
