"""kafkajs (npm, pinned in js/package.json): admin, idempotent producer and a group consumer."""
import os
import subprocess
import unittest

from harness import REPLICATION, Cluster

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js", "roundtrip.js")


class KafkajsTest(unittest.TestCase):
    def test_produce_and_consume(self):
        with Cluster() as cluster:
            done = subprocess.run(["node", SCRIPT, cluster.bootstrap, "kafkajs-roundtrip", "5000"],
                                  env={**os.environ, "SLUICE_TEST_REPLICATION": str(REPLICATION)}, capture_output=True, text=True, timeout=120)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            self.assertIn("OK kafkajs produced and consumed 5000 messages", done.stdout)


if __name__ == "__main__":
    unittest.main()
