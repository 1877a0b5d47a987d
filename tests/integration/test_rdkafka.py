"""librdkafka (C) producer and consumer: 100,000 keyed messages per compression codec, read back
byte-exact and in per-partition and per-key order (tests/integration/clients/rdkafka_roundtrip.c)."""
import os
import subprocess
import unittest

from harness import BUILD_DIR, REPLICATION, Cluster

ROUNDTRIP = os.path.join(BUILD_DIR, "tests", "integration", "clients", "rdkafka-roundtrip")


class RdkafkaRoundtripTest(unittest.TestCase):
    def test_all_codecs(self):
        with Cluster() as cluster:
            for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
                with self.subTest(codec=codec):
                    done = subprocess.run([ROUNDTRIP, "--bootstrap", cluster.bootstrap, "--messages", "100000",
                                           "--codec", codec, "--partitions", "6", "--replication-factor", str(REPLICATION),
                                           "--timeout", "120"],
                                          capture_output=True, timeout=400)
                    output = (done.stdout + done.stderr).decode(errors="replace")
                    self.assertEqual(done.returncode, 0, output[-3000:])
                    self.assertIn("OK topic=", output)


if __name__ == "__main__":
    unittest.main()
