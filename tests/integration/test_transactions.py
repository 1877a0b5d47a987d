"""Transactions end to end on three brokers with real clients: librdkafka's transactional
producer (python3-confluent-kafka) committing and aborting, read_committed against
read_uncommitted consumers, fencing, a timed-out transaction aborted by the coordinator, a
consume-transform-produce loop killed with SIGKILL and restarted (exactly once), the coordinator's
broker killed mid-transaction (all or nothing), and the admin APIs behind kafka-transactions.sh."""
import collections
import os
import signal
import subprocess
import threading
import unittest

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Cluster, wait_until
import txn_wire

HERE = os.path.dirname(os.path.abspath(__file__))
PROCESSOR = os.path.join(HERE, "txn_processor.py")
KAFKAJS_SCRIPT = os.path.join(HERE, "js", "transactions.js")
BROKERS = 3
OVERRIDES = {
    # Fewer partitions than Kafka's 50 keep the three brokers' start quick; the code path is the same.
    "transaction.state.log.num.partitions": "6",
    "offsets.topic.num.partitions": "6",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "500",
}


def create_topics(cluster, *names, partitions=3):
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    futures = admin.create_topics([NewTopic(n, partitions, BROKERS) for n in names])
    for future in futures.values():
        future.result(30)
    wait_until(lambda: all(n in admin.list_topics(timeout=10).topics for n in names), 10, f"topics {names}")


def transactional_producer(cluster, txn_id, **extra):
    return Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": txn_id, "linger.ms": 5, **extra})


def plain_producer(cluster):
    return Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})


def read_all(cluster, topic, isolation, partitions, timeout=60):
    """Every value of `topic` up to each partition's end for `isolation` (the last stable offset
    for read_committed, the high watermark otherwise)."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": f"reader-{topic}",
                         "isolation.level": isolation, "enable.partition.eof": True, "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values, at_end = [], set()

    def done():
        message = consumer.poll(0.2)
        if message is None:
            return False
        if message.error() is not None:
            if message.error().code() == -191:  # _PARTITION_EOF
                at_end.add(message.partition())
            return len(at_end) == partitions
        values.append(message.value())
        return False
    try:
        wait_until(done, timeout, f"the {isolation} end of every partition of {topic}", interval=0)
    finally:
        consumer.close()
    return values


def produce_plain(cluster, topic, values, partition=None):
    producer = plain_producer(cluster)
    for value in values:
        if partition is None:
            producer.produce(topic, value=value)
        else:
            producer.produce(topic, value=value, partition=partition)
    assert producer.flush(30) == 0


class TransactionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(brokers=BROKERS, broker_overrides=OVERRIDES).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    @staticmethod
    def describe(port, transactional_id):
        (described,) = txn_wire.describe_transactions(port, [transactional_id])
        return described

    def test_commit_and_abort_visibility(self):
        create_topics(self.cluster, "txn-visibility")
        producer = transactional_producer(self.cluster, "visibility")
        producer.init_transactions(30)
        expected = []
        for round_, commit in (("c1", True), ("a1", False), ("c2", True)):
            producer.begin_transaction()
            values = [f"{round_}-{i}".encode() for i in range(30)]
            for i, value in enumerate(values):
                producer.produce("txn-visibility", key=str(i).encode(), value=value)
            if commit:
                producer.commit_transaction(30)
                expected += values
            else:
                producer.flush(30)  # the aborted records are in the log
                producer.abort_transaction(30)
        committed = read_all(self.cluster, "txn-visibility", "read_committed", 3)
        self.assertEqual(sorted(committed), sorted(expected))
        uncommitted = read_all(self.cluster, "txn-visibility", "read_uncommitted", 3)
        self.assertEqual(len(uncommitted), 90, "read_uncommitted sees the aborted records too")
        self.assertEqual(sum(v.startswith(b"a1-") for v in uncommitted), 30)

    def test_open_transaction_holds_back_the_last_stable_offset(self):
        create_topics(self.cluster, "txn-lso", partitions=1)
        producer = transactional_producer(self.cluster, "lso")
        producer.init_transactions(30)
        producer.begin_transaction()
        for i in range(5):
            producer.produce("txn-lso", value=b"in-txn-%d" % i)
        self.assertEqual(producer.flush(30), 0)
        produce_plain(self.cluster, "txn-lso", [b"after-1", b"after-2"])
        self.assertEqual(read_all(self.cluster, "txn-lso", "read_committed", 1), [],
                         "nothing past the open transaction's first offset is stable")
        self.assertEqual(len(read_all(self.cluster, "txn-lso", "read_uncommitted", 1)), 7)

        # The admin view of the open transaction (kafka-transactions.sh list / describe /
        # describe-producers).
        error, coordinator, port = txn_wire.find_txn_coordinator(self.cluster.broker_ports[0], "lso")
        self.assertEqual(error, 0)
        described = self.describe(port, "lso")
        self.assertEqual(described["error"], 0)
        self.assertEqual(described["state"], "Ongoing")
        self.assertEqual(described["topics"], {"txn-lso": [0]})
        error, _, unknown_port = txn_wire.find_txn_coordinator(self.cluster.broker_ports[0], "no-such-id")
        self.assertEqual(error, 0)
        self.assertEqual(self.describe(unknown_port, "no-such-id")["error"], txn_wire.TRANSACTIONAL_ID_NOT_FOUND)
        other = next(p for i, p in enumerate(self.cluster.broker_ports, start=1) if i != coordinator)
        self.assertEqual(self.describe(other, "lso")["error"], txn_wire.NOT_COORDINATOR)
        listed = {}
        for p in self.cluster.broker_ports:  # each broker lists the ids it coordinates
            error, _, states = txn_wire.list_transactions(p, states=["Ongoing"])
            self.assertEqual(error, 0)
            listed.update(states)
        self.assertEqual(listed.get("lso"), (described["producer_id"], "Ongoing"))
        leader = AdminClient({"bootstrap.servers": self.cluster.bootstrap}).list_topics(
            "txn-lso", timeout=10).topics["txn-lso"].partitions[0].leader
        error, producers = txn_wire.describe_producers(self.cluster.broker_ports[leader - 1], "txn-lso", 0)
        self.assertEqual(error, 0)
        open_txns = [p for p in producers if p["producer_id"] == described["producer_id"]]
        self.assertEqual(len(open_txns), 1)
        self.assertEqual(open_txns[0]["txn_start_offset"], 0)

        producer.commit_transaction(30)
        committed = read_all(self.cluster, "txn-lso", "read_committed", 1)
        self.assertEqual(committed, [b"in-txn-%d" % i for i in range(5)] + [b"after-1", b"after-2"])
        self.assertEqual(self.describe(port, "lso")["state"], "CompleteCommit")

    def test_second_producer_fences_the_first(self):
        create_topics(self.cluster, "txn-fencing")
        first = transactional_producer(self.cluster, "fenced-id")
        first.init_transactions(30)
        first.begin_transaction()
        first.produce("txn-fencing", value=b"from-first")
        self.assertEqual(first.flush(30), 0)
        second = transactional_producer(self.cluster, "fenced-id")
        second.init_transactions(60)  # aborts the first one's transaction
        with self.assertRaises(KafkaException) as raised:
            first.commit_transaction(30)
        self.assertTrue(raised.exception.args[0].fatal(), f"a fatal error, got {raised.exception.args[0]}")
        second.begin_transaction()
        second.produce("txn-fencing", value=b"from-second")
        second.commit_transaction(30)
        self.assertEqual(read_all(self.cluster, "txn-fencing", "read_committed", 3), [b"from-second"])

    def test_abandoned_transaction_is_aborted_after_its_timeout(self):
        create_topics(self.cluster, "txn-timeout", partitions=1)
        producer = transactional_producer(self.cluster, "abandoned", **{"transaction.timeout.ms": 2000})
        producer.init_transactions(30)
        producer.begin_transaction()
        producer.produce("txn-timeout", value=b"abandoned")
        self.assertEqual(producer.flush(30), 0)
        produce_plain(self.cluster, "txn-timeout", [b"later"])
        # The coordinator aborts it: the last stable offset moves past it and "later" shows.
        wait_until(lambda: read_all(self.cluster, "txn-timeout", "read_committed", 1) == [b"later"], 60,
                   "the timed-out transaction to be aborted")
        with self.assertRaises(KafkaException):
            producer.commit_transaction(30)

    def test_kafkajs_transaction_with_send_offsets(self):
        done = subprocess.run(["node", KAFKAJS_SCRIPT, self.cluster.bootstrap, "kafkajs-txn", "kafkajs-txn-group"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertEqual(done.stdout.strip(), "OK")

    def test_consume_transform_produce_exactly_once_across_kill9(self):
        create_topics(self.cluster, "etl-in", "etl-out")
        inputs = [b"in-%05d" % i for i in range(3000)]
        produce_plain(self.cluster, "etl-in", inputs)

        def start():
            return subprocess.Popen(["/usr/bin/python3", PROCESSOR, self.cluster.bootstrap, "etl-in", "etl-out",
                                     "etl", "etl-processor", "100", "8"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        first = start()
        try:
            wait_until(lambda: len(read_all(self.cluster, "etl-out", "read_committed", 3)) >= 800, 120,
                       "the processor to commit some output")
        finally:
            first.send_signal(signal.SIGKILL)
            first.communicate(timeout=30)
        second = start()
        output, _ = second.communicate(timeout=240)
        self.assertEqual(second.returncode, 0, output.decode(errors="replace"))
        outputs = read_all(self.cluster, "etl-out", "read_committed", 3)
        counts = collections.Counter(outputs)
        self.assertEqual([v for v, n in counts.items() if n > 1], [], "an input's output was committed twice")
        self.assertEqual(sorted(outputs), sorted(b"out-" + v for v in inputs))


class CoordinatorFailoverTest(unittest.TestCase):
    """Kills the broker that coordinates a transaction, before and during its commit: the
    transaction ends whole, committed or aborted, and a commit the client saw succeed is there."""

    def test_no_torn_transaction_when_the_coordinator_dies(self):
        with Cluster(brokers=BROKERS, broker_overrides=OVERRIDES) as cluster:
            create_topics(cluster, "failover", partitions=6)
            outcomes = {}
            for round_, during_commit in (("before", False), ("during", True)):
                txn_id = f"failover-{round_}"
                producer = transactional_producer(cluster, txn_id, **{"transaction.timeout.ms": 20000})
                producer.init_transactions(60)
                producer.begin_transaction()
                for i in range(60):
                    producer.produce("failover", key=b"%d" % i, value=f"{round_}-{i}".encode())
                self.assertEqual(producer.flush(30), 0)
                error, coordinator, _ = txn_wire.find_txn_coordinator(cluster.broker_ports[0], txn_id)
                self.assertEqual(error, 0)
                victim = cluster.brokers[coordinator - 1]
                result = {}

                def commit():
                    try:
                        producer.commit_transaction(90)
                        result["committed"] = True
                    except KafkaException as e:
                        result["error"] = e.args[0]
                if during_commit:
                    committer = threading.Thread(target=commit)
                    committer.start()
                    victim.kill9()
                    committer.join(120)
                else:
                    victim.kill9()
                    commit()
                self.assertTrue(result, "commit_transaction returned")
                outcomes[round_] = result
                cluster.start_broker(coordinator - 1)
                cluster.wait_broker_ready(coordinator - 1)
            # Plain records after both transactions: once a read_committed reader sees all of
            # them, both transactions have ended in every partition.
            sentinels = [b"sentinel-%d" % p for p in range(6)]
            for p, value in enumerate(sentinels):
                produce_plain(cluster, "failover", [value], partition=p)

            def settled():
                values = read_all(cluster, "failover", "read_committed", 6)
                return values if all(s in values for s in sentinels) else None
            values = wait_until(settled, 120, "both transactions to end in every partition")
            for round_, result in outcomes.items():
                seen = sum(v.startswith(f"{round_}-".encode()) for v in values)
                if result.get("committed"):
                    self.assertEqual(seen, 60, f"{round_}: a commit the client saw succeed is whole")
                else:
                    self.assertIn(seen, (0, 60), f"{round_}: torn transaction ({seen} of 60 records)")


if __name__ == "__main__":
    unittest.main()
