"""Confluent's JavaScript client, @confluentinc/kafka-javascript (its KafkaJS-compatible API over
the librdkafka 2.15 it bundles; confluent-js/build.sh builds it): admin, an idempotent acks=all
producer and a consumer group."""
import json
import os
import subprocess
import unittest

from harness import REPLICATION, Cluster

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "confluent-js", "roundtrip.js")
ADDON = os.path.join(HERE, "confluent-js", "node_modules", "@confluentinc", "kafka-javascript", "build", "Release",
                     "confluent-kafka-javascript.node")


class ConfluentJsTest(unittest.TestCase):
    def test_admin_produce_and_group_consume(self):
        self.assertTrue(os.path.exists(ADDON), "the client is not built: run tests/integration/confluent-js/build.sh")
        with Cluster() as cluster:
            done = subprocess.run(["node", SCRIPT, cluster.bootstrap, "confluent-js-roundtrip", "confluent-js-group", "1000"],
                                  env={**os.environ, "SLUICE_TEST_REPLICATION": str(REPLICATION)},
                                  capture_output=True, text=True, timeout=180)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            self.assertEqual(result, {"consumed": 1000, "committed": 1000, "group_listed": True}, done.stdout)


if __name__ == "__main__":
    unittest.main()
