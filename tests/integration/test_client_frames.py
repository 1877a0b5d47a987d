"""Requests replayed byte for byte as current clients send them: Kafka parses a request body and
ignores whatever follows it inside the frame, and clients rely on that."""
import struct
import unittest

from harness import Cluster
import kafka_wire as kw

# librdkafka 2.15.1's full-metadata request: Metadata v12, header v2 (client id "rdkafka", no
# tags), then a null topic array, two booleans, an empty tag section and three more bytes.
RDKAFKA_2_15_METADATA_V12 = (struct.pack(">hhih", 3, 12, 5, 7) + b"rdkafka" + b"\x00" +
                             bytes.fromhex("00000000") + bytes.fromhex("010000"))


def parse_metadata_v12_brokers(frame):
    """Correlation id and (node id, port) of every broker in a Metadata v12 response."""
    r = kw.Reader(frame)
    correlation = r.take(">i")
    r.skip_tags()
    r.take(">i")  # throttle
    brokers = []

    def broker():
        node, host, port = r.take(">i"), r.compact_string(), r.take(">i")
        r.compact_string()  # rack
        r.skip_tags()
        del host
        brokers.append((node, port))

    r.compact_array(broker)
    return correlation, brokers


class ClientFramesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster().__enter__()
        cls.port = cls.cluster.broker_ports[0]

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def exchange(self, payload):
        conn = kw.Connection(self.port)
        try:
            conn.send(struct.pack(">i", len(payload)) + payload)
            return conn, conn.receive()
        except Exception:
            conn.close()
            raise

    def test_metadata_v12_with_trailing_bytes_is_answered(self):
        conn, frame = self.exchange(RDKAFKA_2_15_METADATA_V12)
        try:
            self.assertIsNotNone(frame, "the broker closed the connection on librdkafka 2.15's Metadata v12")
            correlation, brokers = parse_metadata_v12_brokers(frame)
            self.assertEqual(correlation, 5)
            self.assertIn(self.port, [port for _, port in brokers])
            # The connection keeps serving after the lenient parse.
            conn.send(kw.request(18, 0, 6, b""))
            again = conn.receive()
            self.assertIsNotNone(again, "the connection stopped serving after the Metadata answer")
            self.assertEqual(struct.unpack_from(">ih", again), (6, 0))
        finally:
            conn.close()

    def test_body_cut_short_still_closes_the_connection(self):
        # Header complete, body ends inside the booleans: malformed, not lenient.
        conn, frame = self.exchange(RDKAFKA_2_15_METADATA_V12[:-6])
        conn.close()
        self.assertIsNone(frame, "a truncated Metadata v12 body was answered")


if __name__ == "__main__":
    unittest.main()
