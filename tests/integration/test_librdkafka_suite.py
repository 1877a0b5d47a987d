"""librdkafka 2.15.1's own broker tests against a Sluice cluster: the client most users run today
(confluent-kafka for Python, Go, .NET and JavaScript bundle it). tests/integration/librdkafka/
build.sh builds it from the npm package @confluentinc/kafka-javascript@1.10.1 against Debian's
libraries; docs/testing.md lists which tests run and why the others are left out."""
import os
import subprocess
import time
import unittest

from harness import BUILD_DIR, Cluster

RUNNER_DIR = os.path.join(BUILD_DIR, "librdkafka", "librdkafka", "tests")
# Each entry: test number, what it covers. Keep in step with docs/testing.md.
CURATED = [
    ("0001", "many producer instances"),
    ("0002", "produce to an unknown partition"),
    ("0005", "per-partition order"),
    ("0007", "topic auto-creation"),
    ("0008", "acks 0, 1, all"),
    ("0011", "produce_batch, per-record errors in a compacted topic (KIP-467)"),
    ("0012", "produce and consume, two partitions, queues"),
    ("0013", "null and empty messages"),
    ("0014", "re-consuming"),
    ("0015", "offset seeks"),
    ("0017", "gzip, snappy, lz4, zstd"),
    ("0020", "destroy during consumption"),
    ("0021", "topic handle lifetimes"),
    ("0029", "assign with offsets"),
    ("0030", "offset commits, sync and async"),
    ("0034", "auto.offset.reset"),
    ("0036", "partial fetches"),
    ("0038", "producer performance run"),
    ("0040", "I/O event queue"),
    ("0041", "fetch.message.max.bytes"),
    ("0042", "many topics"),
    ("0044", "partition count changes"),
    ("0048", "partitioners"),
    ("0051", "incremental assign"),
    ("0055", "producer latency"),
    ("0067", "consuming an empty topic"),
    ("0069", "partitions added while consuming"),
    ("0070", "null and empty keys and values (C++)"),
    ("0073", "headers"),
    ("0083", "event callbacks"),
    ("0084", "destroy flags with a group"),
    ("0085", "headers (C++)"),
    ("0086", "purging queued messages"),
    ("0090", "idempotent producer"),
    ("0099", "commit metadata"),
    ("0112", "assigning an unknown partition"),
    ("0113", "cooperative-sticky rebalancing"),
    ("0114", "sticky partitioning"),
    ("0118", "commits during a rebalance"),
    ("0123", "connections.max.idle.ms"),
    ("0125", "flush with linger"),
    ("0130", "stored offsets"),
    ("0137", "batch consume across a rebalance"),
    ("0140", "commit metadata (C++)"),
]
# Tests that create topics with replication factor 3: run on three brokers.
CURATED_ON_THREE_BROKERS = [
    ("0103", "transactions: misuse, commit and abort with and without compression, consume-transform-produce, "
             "fencing, recovery from lost producer state (KIP-360), empty transactions, LSO and isolation levels, "
             "aborted control records' offsets"),
    ("0129", "read_committed fetch across an aborted transaction of large batches"),
]
# librdkafka sizes its timeouts for a shared CI machine by this factor.
TIMEOUT_MULTIPLIER = "3"
PER_TEST_TIMEOUT_S = 300


class Librdkafka215SuiteTest(unittest.TestCase):
    BROKERS = 1
    TESTS = CURATED

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(RUNNER_DIR, "test-runner")):
            raise AssertionError(f"no librdkafka 2.15 test runner in {RUNNER_DIR}: "
                                 f"run tests/integration/librdkafka/build.sh {BUILD_DIR}/librdkafka (tests/run does)")
        # The suite expects auto-created topics to have several partitions, as its own test
        # clusters configure.
        cls.cluster = Cluster(brokers=cls.BROKERS, broker_overrides={"num.partitions": "4"}).__enter__()
        cls.conf = os.path.join(cls.cluster.dir, "librdkafka-test.conf")
        with open(cls.conf, "w") as f:
            f.write(f"bootstrap.servers={cls.cluster.bootstrap}\n")
            f.write(f"test.timeout.multiplier={TIMEOUT_MULTIPLIER}\n")

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def run_librdkafka_test(self, number):
        env = dict(os.environ)
        lib = os.path.join(RUNNER_DIR, "..", "src")
        env.update({
            "LD_LIBRARY_PATH": f"{lib}:{os.path.join(RUNNER_DIR, '..', 'src-cpp')}",
            "RDKAFKA_TEST_CONF": self.conf,
            "TESTS": number,
            # Feature gates of the suite: Sluice serves the APIs of Kafka 3.9's classic protocol.
            "TEST_KAFKA_VERSION": "3.9.0",
        })
        log_path = os.path.join(self.cluster.dir, f"librdkafka-{number}.log")
        started = time.monotonic()
        with open(log_path, "w") as log:
            # -Q quick mode, -E no socket-level fault injection, -L no local-only tests,
            # -K no tests the suite itself marks as known issues.
            proc = subprocess.run(["./test-runner", "-Q", "-E", "-L", "-K"], cwd=RUNNER_DIR, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, timeout=PER_TEST_TIMEOUT_S)
        with open(log_path, errors="replace") as f:
            output = f.read()
        return proc.returncode, output, time.monotonic() - started

    def test_curated_broker_tests(self):
        for number, what in self.TESTS:
            with self.subTest(test=number, covers=what):
                rc, output, seconds = self.run_librdkafka_test(number)
                passed = "ALL TESTS PASSED" in output and "TEST FAILURE" not in output
                tail = "\n".join(output.splitlines()[-25:])
                print(f"librdkafka {number} ({what}): {'passed' if passed else 'FAILED'} in {seconds:.1f}s")
                self.assertTrue(passed, f"librdkafka test {number} ({what}) failed, rc={rc}:\n{tail}")



class Librdkafka215ThreeBrokerSuiteTest(Librdkafka215SuiteTest):
    BROKERS = 3
    TESTS = CURATED_ON_THREE_BROKERS


if __name__ == "__main__":
    unittest.main()
