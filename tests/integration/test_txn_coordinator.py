"""The transaction coordinator with real clients: librdkafka's transactional producer
(init_transactions, fencing by a second producer of the same transactional id, empty
transactions), the admin APIs DescribeTransactions and ListTransactions and the coordinator's
error answers through raw frames, a transaction aborted by its timeout (its producer fenced),
coordinator state surviving a broker restart, and transactions with records committed and
aborted end to end (read by a read_committed consumer)."""
import unittest
import uuid

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from harness import REPLICATION, Cluster, wait_until
from txn_wire import (COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS, INVALID_PRODUCER_EPOCH,
                      INVALID_PRODUCER_ID_MAPPING, INVALID_TRANSACTION_TIMEOUT, INVALID_TXN_STATE, NONE,
                      NOT_COORDINATOR, OPERATION_NOT_ATTEMPTED, PRODUCER_FENCED, TRANSACTIONAL_ID_NOT_FOUND,
                      UNKNOWN_TOPIC_OR_PARTITION, add_partitions, describe_transactions, end_txn,
                      find_txn_coordinator, init_producer_id, list_transactions)


class Helpers:
    def coordinator_port(self, cluster, txn_id):
        """The port of the broker coordinating `txn_id`, once FindCoordinator names one."""
        def found():
            error, _node, port = find_txn_coordinator(cluster.broker_ports[0], txn_id)
            return port if error == NONE else None
        return wait_until(found, 30, f"a coordinator for transactional id {txn_id}")

    def describe_one(self, port, txn_id):
        """DescribeTransactions of one id, once the coordinator answers it (not loading)."""
        def answered():
            (s,) = describe_transactions(port, [txn_id])
            return None if s["error"] in (COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR) else s
        return wait_until(answered, 30, f"DescribeTransactions of {txn_id} past loading")

    def create_topic(self, cluster, topic, partitions=2):
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        admin.create_topics([NewTopic(topic, partitions, REPLICATION)])[topic].result(30)



class TxnCoordinatorTest(Helpers, unittest.TestCase):
    def test_init_fence_empty_transactions_and_admin_apis(self):
        with Cluster() as cluster:
            txn_id = f"txn-{uuid.uuid4()}"
            first = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": txn_id})
            first.init_transactions(30)
            # Transactions without records: librdkafka needs nothing from the coordinator for
            # them, but they must not disturb its state.
            first.begin_transaction()
            first.commit_transaction(30)
            first.begin_transaction()
            first.abort_transaction(30)

            port = self.coordinator_port(cluster, txn_id)
            before = self.describe_one(port, txn_id)
            self.assertEqual(before["error"], NONE, before)
            self.assertEqual(before["state"], "Empty")
            self.assertEqual(before["epoch"], 0)
            self.assertGreaterEqual(before["producer_id"], 0)

            # A second producer with the same id fences the first: the next epoch.
            second = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": txn_id})
            second.init_transactions(30)
            after = self.describe_one(port, txn_id)
            self.assertEqual((after["producer_id"], after["epoch"]), (before["producer_id"], 1))

            # The first producer's next transactional request is refused, fatally.
            topic = f"t-{uuid.uuid4().hex[:8]}"
            self.create_topic(cluster, topic)
            first.begin_transaction()
            first.produce(topic, b"late")
            with self.assertRaises(KafkaException) as raised:
                first.commit_transaction(30)
            self.assertTrue(raised.exception.args[0].fatal(), raised.exception)

            # ListTransactions: filters by state and producer id, unknown state names reported.
            error, unknown, listed = list_transactions(port)
            self.assertEqual(error, NONE)
            self.assertEqual(listed.get(txn_id), (before["producer_id"], "Empty"))
            _, unknown, listed = list_transactions(port, states=["Ongoing", "Bogus"])
            self.assertEqual(unknown, ["Bogus"])
            self.assertNotIn(txn_id, listed)
            _, _, listed = list_transactions(port, producer_ids=[before["producer_id"]])
            self.assertEqual(list(listed), [txn_id])
            _, _, listed = list_transactions(port, producer_ids=[before["producer_id"] + 1000])
            self.assertEqual(listed, {})

            (missing,) = describe_transactions(port, ["no-such-transactional-id"])
            self.assertIn(missing["error"], (TRANSACTIONAL_ID_NOT_FOUND, NOT_COORDINATOR))

    def test_coordinator_errors_and_partitions(self):
        with Cluster() as cluster:
            txn_id = f"raw-{uuid.uuid4()}"
            port = self.coordinator_port(cluster, txn_id)
            self.assertEqual(init_producer_id(port, txn_id, 10_000_000)[0], INVALID_TRANSACTION_TIMEOUT)
            error, pid, epoch = wait_until(
                lambda: (lambda r: r if r[0] == NONE else None)(init_producer_id(port, txn_id, 60000)), 30,
                "InitProducerId to succeed")
            self.assertEqual(epoch, 0)
            # Nothing to end yet; a wrong producer id or epoch is refused.
            self.assertEqual(end_txn(port, txn_id, pid, epoch, True), INVALID_TXN_STATE)
            self.assertEqual(end_txn(port, txn_id, pid + 1, epoch, True), INVALID_PRODUCER_ID_MAPPING)
            self.assertEqual(end_txn(port, txn_id, pid, epoch + 1, True, version=1), INVALID_PRODUCER_EPOCH)
            self.assertEqual(end_txn(port, txn_id, pid, epoch + 1, True, version=2), PRODUCER_FENCED)

            topic = f"t-{uuid.uuid4().hex[:8]}"
            self.create_topic(cluster, topic)
            # An unknown partition fails the whole request; the others are not attempted.
            errors = add_partitions(port, txn_id, pid, epoch, {topic: [0, 7]})
            self.assertEqual(errors, {(topic, 0): OPERATION_NOT_ATTEMPTED, (topic, 7): UNKNOWN_TOPIC_OR_PARTITION})
            errors = add_partitions(port, txn_id, pid, epoch, {topic: [0, 1]})
            self.assertEqual(errors, {(topic, 0): NONE, (topic, 1): NONE})
            state = self.describe_one(port, txn_id)
            self.assertEqual(state["state"], "Ongoing")
            self.assertEqual(state["topics"], {topic: [0, 1]})
            self.assertGreater(state["start_ms"], 0)
            listing = list_transactions(port, states=["Ongoing"])
            self.assertEqual(listing[2].get(txn_id), (pid, "Ongoing"), listing)
            # The v1 duration filter: only transactions running longer than it.
            self.assertNotIn(txn_id, list_transactions(port, duration_ms=3_600_000)[2])

            # The state survives a restart of the coordinator broker (replayed from
            # __transaction_state).
            cluster.brokers[0].stop()
            cluster.start_broker(0)
            port = self.coordinator_port(cluster, txn_id)
            restored = self.describe_one(port, txn_id)
            self.assertEqual((restored["state"], restored["producer_id"], restored["epoch"], restored["topics"]),
                             ("Ongoing", pid, epoch, {topic: [0, 1]}))

            # A new producer of the id aborts the ongoing transaction first (CONCURRENT_TRANSACTIONS
            # until then) and fences the old producer.
            self.assertEqual(init_producer_id(port, txn_id, 60000)[0], CONCURRENT_TRANSACTIONS)
            fenced = wait_until(
                lambda: (lambda s: s if s["state"] == "CompleteAbort" else None)(self.describe_one(port, txn_id)), 30,
                "the fenced transaction's abort to complete")
            self.assertEqual(fenced["epoch"], epoch + 1)
            # Once it completed, the new producer gets the next epoch.
            error, new_pid, new_epoch = wait_until(
                lambda: (lambda r: r if r[0] == NONE else None)(init_producer_id(port, txn_id, 60000)), 30,
                "InitProducerId after the abort")
            self.assertEqual((new_pid, new_epoch), (pid, epoch + 2))
            self.assertEqual(add_partitions(port, txn_id, pid, epoch, {topic: [0]}, version=2),
                             {(topic, 0): PRODUCER_FENCED})

    def test_produced_transactions_commit_and_abort_end_to_end(self):
        with Cluster() as cluster:
            topic = f"e2e-{uuid.uuid4().hex[:8]}"
            self.create_topic(cluster, topic, partitions=2)
            txn_id = f"e2e-{uuid.uuid4()}"
            producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": txn_id})
            producer.init_transactions(30)
            producer.begin_transaction()
            for i in range(10):
                producer.produce(topic, f"committed-{i}".encode(), partition=i % 2)
            producer.commit_transaction(30)
            producer.begin_transaction()
            for i in range(10):
                producer.produce(topic, f"aborted-{i}".encode(), partition=i % 2)
            producer.flush(30)
            producer.abort_transaction(30)
            producer.begin_transaction()
            producer.produce(topic, b"last", partition=0)
            producer.commit_transaction(30)

            port = self.coordinator_port(cluster, txn_id)
            state = wait_until(
                lambda: (lambda s: s if s["state"] == "CompleteCommit" else None)(self.describe_one(port, txn_id)), 30,
                "the last commit's markers to be written")
            self.assertEqual(state["epoch"], 0)

            consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": f"g-{uuid.uuid4()}",
                                 "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                                 "enable.auto.commit": False})
            consumer.subscribe([topic])
            seen = []

            def all_committed():
                message = consumer.poll(0.5)
                if message is not None and message.error() is None:
                    seen.append(message.value().decode())
                return len(seen) >= 11
            try:
                wait_until(all_committed, 60, "the committed records through a read_committed consumer")
                # Nothing more arrives: the aborted records stay hidden.
                extra = consumer.poll(2.0)
                self.assertTrue(extra is None or extra.error() is not None, extra and extra.value())
            finally:
                consumer.close()
            self.assertEqual(sorted(seen), sorted([f"committed-{i}" for i in range(10)] + ["last"]))

    def test_timed_out_transaction_is_aborted_and_fenced(self):
        overrides = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "200"}
        with Cluster(broker_overrides=overrides) as cluster:
            txn_id = f"slow-{uuid.uuid4()}"
            port = self.coordinator_port(cluster, txn_id)
            error, pid, epoch = wait_until(
                lambda: (lambda r: r if r[0] == NONE else None)(init_producer_id(port, txn_id, 1000)), 30,
                "InitProducerId to succeed")
            topic = f"t-{uuid.uuid4().hex[:8]}"
            self.create_topic(cluster, topic, partitions=1)
            self.assertEqual(add_partitions(port, txn_id, pid, epoch, {topic: [0]}), {(topic, 0): NONE})
            # Aborted, with its marker written to the partition.
            aborted = wait_until(
                lambda: (lambda s: s if s["state"] == "CompleteAbort" else None)(self.describe_one(port, txn_id)), 30,
                "the timed-out transaction to be aborted")
            self.assertEqual(aborted["epoch"], epoch + 1)
            # The producer that let it time out is fenced.
            self.assertEqual(end_txn(port, txn_id, pid, epoch, True, version=2), PRODUCER_FENCED)

            # The same with librdkafka: its commit after the timeout fails fatally.
            rd_id = f"slow-rd-{uuid.uuid4()}"
            producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": rd_id,
                                 "transaction.timeout.ms": 2000})
            producer.init_transactions(30)
            producer.begin_transaction()
            producer.produce(topic, b"too slow", partition=0)
            producer.flush(30)
            rd_port = self.coordinator_port(cluster, rd_id)
            aborted = wait_until(
                lambda: (lambda s: s if s["state"] == "CompleteAbort" else None)(self.describe_one(rd_port, rd_id)), 30,
                "librdkafka's timed-out transaction to be aborted")
            self.assertEqual(aborted["epoch"], 1)
            with self.assertRaises(KafkaException) as raised:
                producer.commit_transaction(30)
            error = raised.exception.args[0]
            if not error.fatal():
                # The record itself may have failed first (the abort refused its retries): the
                # transaction then needs an abort, which meets the fence.
                self.assertTrue(error.txn_requires_abort(), error)
                with self.assertRaises(KafkaException) as raised:
                    producer.abort_transaction(30)
                error = raised.exception.args[0]
            self.assertTrue(error.fatal(), error)


class TxnCoordinatorClusterTest(Helpers, unittest.TestCase):
    """Coordinators, partition leaders and markers on different brokers."""

    def coordinator_node(self, cluster, txn_id, other_than=None):
        def found():
            error, node, _port = find_txn_coordinator(cluster.broker_ports[0], txn_id)
            return node if error == NONE and node != other_than else None
        return wait_until(found, 60, f"a coordinator for {txn_id} other than {other_than}")

    def test_transactions_across_brokers_and_coordinator_failover(self):
        with Cluster(brokers=3) as cluster:
            topic = f"spread-{uuid.uuid4().hex[:8]}"
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            # Leaders on every broker: markers and KIP-890 verification cross brokers.
            admin.create_topics([NewTopic(topic, 3, 3)])[topic].result(30)
            txn_id = f"spread-{uuid.uuid4()}"
            producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": txn_id})
            producer.init_transactions(60)
            producer.begin_transaction()
            for i in range(30):
                producer.produce(topic, f"one-{i}".encode(), partition=i % 3)
            producer.commit_transaction(60)

            coordinator = self.coordinator_node(cluster, txn_id)
            port = cluster.broker_ports[coordinator - 1]
            # EndTxn is answered once PrepareCommit is written; the markers follow.
            before = wait_until(
                lambda: (lambda s: s if s["state"] == "CompleteCommit" else None)(self.describe_one(port, txn_id)), 30,
                "the commit's markers to be written")

            # The coordinator's broker stops: another one loads the id's state from its replica.
            cluster.brokers[coordinator - 1].stop()
            survivor = 1 if coordinator != 1 else 2
            new_coordinator = wait_until(
                lambda: (lambda r: r[1] if r[0] == NONE and r[1] != coordinator else None)(
                    find_txn_coordinator(cluster.broker_ports[survivor - 1], txn_id)), 60,
                "a new coordinator after the old one stopped")
            after = self.describe_one(cluster.broker_ports[new_coordinator - 1], txn_id)
            self.assertEqual((after["state"], after["producer_id"], after["epoch"]),
                             ("CompleteCommit", before["producer_id"], before["epoch"]))

            survivors = ",".join(f"127.0.0.1:{p}" for i, p in enumerate(cluster.broker_ports) if i != coordinator - 1)
            again = Producer({"bootstrap.servers": survivors, "transactional.id": txn_id})
            again.init_transactions(60)
            again.begin_transaction()
            for i in range(30):
                again.produce(topic, f"two-{i}".encode(), partition=i % 3)
            again.commit_transaction(60)
            self.assertEqual(self.describe_one(cluster.broker_ports[new_coordinator - 1], txn_id)["epoch"],
                             before["epoch"] + 1)

    def test_committing_transaction_resumes_after_coordinator_restart(self):
        # The state topic on one replica, so the restarted broker coordinates its ids again.
        overrides = {"transaction.state.log.replication.factor": "1"}
        with Cluster(brokers=2, broker_overrides=overrides) as cluster:
            topic = f"on-two-{uuid.uuid4().hex[:8]}"
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            admin.create_topics([NewTopic(topic, 1, replica_assignment=[[2]])])[topic].result(30)
            txn_id = next(t for t in (f"resume-{uuid.uuid4()}" for _ in range(200))
                          if self.coordinator_node(cluster, t) == 1)
            port = cluster.broker_ports[0]
            _, pid, epoch = wait_until(
                lambda: (lambda r: r if r[0] == NONE else None)(init_producer_id(port, txn_id, 60000)), 30,
                "InitProducerId to succeed")
            self.assertEqual(add_partitions(port, txn_id, pid, epoch, {topic: [0]}), {(topic, 0): NONE})
            # The partition's leader answers nothing: the commit's marker cannot be written.
            cluster.brokers[1].pause()
            try:
                self.assertEqual(end_txn(port, txn_id, pid, epoch, True), NONE)
                self.assertEqual(self.describe_one(port, txn_id)["state"], "PrepareCommit")
                cluster.brokers[0].stop()
                cluster.start_broker(0)
                port = cluster.broker_ports[0]
                self.assertEqual(self.describe_one(port, txn_id)["state"], "PrepareCommit")
            finally:
                cluster.brokers[1].resume()
            # The reloaded coordinator sends the marker again and completes the commit.
            wait_until(lambda: self.describe_one(port, txn_id)["state"] == "CompleteCommit", 90,
                       "the resumed commit to complete")


if __name__ == "__main__":
    unittest.main()
