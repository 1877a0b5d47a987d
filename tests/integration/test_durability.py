"""Restarts (SIGTERM and kill -9) of broker and controller lose nothing that was acknowledged,
and idempotent producer state survives them."""
import struct
import threading
import unittest

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Cluster, wait_until
import kafka_wire as kw


def consume_all(bootstrap, topic, partitions, expected, timeout=60):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
                         "enable.partition.eof": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    seen = {}

    def done():
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            seen[(message.partition(), message.offset())] = message.value()
        return len(seen) >= expected
    try:
        wait_until(done, timeout, f"{expected} messages from {topic}", interval=0)
    finally:
        consumer.close()
    return seen


class DurabilityTest(unittest.TestCase):
    def create(self, cluster, topic, partitions):
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
            future.result(30)

    def produce(self, bootstrap, topic, count, **config):
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **config})
        acked = {}
        errors = []

        def delivered(err, message):
            if err:
                errors.append(err)
            else:
                acked[(message.partition(), message.offset())] = message.value()
        for i in range(count):
            while True:
                try:
                    producer.produce(topic, key=b"%d" % i, value=b"value-%06d" % i, on_delivery=delivered)
                    break
                except BufferError:
                    producer.poll(0.1)
        self.assertEqual(producer.flush(60), 0, "messages left undelivered")
        self.assertEqual(errors, [])
        return acked

    def test_clean_restart_of_broker_and_controller(self):
        with Cluster() as cluster:
            self.create(cluster, "restart", 4)
            acked = self.produce(cluster.bootstrap, "restart", 20000, **{"enable.idempotence": True})
            cluster.stop()
            cluster.start()
            seen = consume_all(cluster.bootstrap, "restart", 4, len(acked))
            self.assertEqual(seen, acked)
            # The topic, its partitions and new appends continue after the restart.
            more = self.produce(cluster.bootstrap, "restart", 1000)
            self.assertTrue(all(offset >= 0 for _, offset in more))

    def test_kill9_broker_during_produce_loses_nothing_acknowledged(self):
        with Cluster() as cluster:
            self.create(cluster, "crash", 3)
            acked = {}
            lock = threading.Lock()
            stop = threading.Event()

            def produce_until_killed():
                producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "linger.ms": 2,
                                     "message.timeout.ms": 60000, "enable.idempotence": True})

                def delivered(err, message):
                    if not err:
                        with lock:
                            acked[(message.partition(), message.offset())] = message.value()
                i = 0
                while not stop.is_set():
                    try:
                        producer.produce("crash", value=b"m-%08d" % i, on_delivery=delivered)
                        i += 1
                    except BufferError:
                        pass
                    producer.poll(0)
                producer.flush(60)
            thread = threading.Thread(target=produce_until_killed)
            thread.start()
            wait_until(lambda: len(acked) > 20000, 60, "20000 acknowledged messages before the kill")
            cluster.brokers[0].kill9()
            with lock:
                acked_before_kill = dict(acked)
            cluster.start_broker(0)
            stop.set()
            thread.join(120)
            self.assertFalse(thread.is_alive(), "producer did not finish after the restart")
            seen = consume_all(cluster.bootstrap, "crash", 3, len(acked))
            for key, value in acked_before_kill.items():
                self.assertEqual(seen.get(key), value, f"acknowledged message at {key} lost")
            self.assertEqual(seen, acked)

    def test_kill9_controller_keeps_metadata(self):
        with Cluster() as cluster:
            self.create(cluster, "meta", 5)
            cluster.controller.kill9()
            cluster.controller.start()
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            wait_until(lambda: "meta" in admin.list_topics(timeout=5).topics, 30, "topic metadata after controller restart")
            self.assertEqual(len(admin.list_topics(timeout=5).topics["meta"].partitions), 5)
            for future in admin.create_topics([NewTopic("after", 1, 1)]).values():
                future.result(30)

    def test_idempotent_duplicates_and_sequence_errors(self):
        with Cluster() as cluster:
            self.create(cluster, "idem", 1)
            port = cluster.broker_ports[0]
            conn = kw.Connection(port)
            correlation = iter(range(1, 1000))

            def produce(batch):
                conn.send(kw.request(0, 3, next(correlation), kw.produce_v3("idem", 0, batch)))
                return kw.parse_produce_v3_response(conn.receive()[4:])

            pid = 4242
            first = kw.record_batch([b"a", b"b"], producer_id=pid, producer_epoch=0, base_sequence=0)
            self.assertEqual(produce(first), (0, 0))
            self.assertEqual(produce(first), (0, 0), "a retried batch gets its original offset")
            self.assertEqual(produce(kw.record_batch([b"c"], pid, 0, 2)), (0, 2))
            error, _ = produce(kw.record_batch([b"gap"], pid, 0, 9))
            self.assertEqual(error, 45, "OUT_OF_ORDER_SEQUENCE_NUMBER")
            self.assertEqual(produce(kw.record_batch([b"d"], pid, 1, 0)), (0, 3), "a new epoch starts at 0")
            error, _ = produce(kw.record_batch([b"old"], pid, 0, 3))
            self.assertEqual(error, 47, "INVALID_PRODUCER_EPOCH")
            conn.close()

            # Producer state is rebuilt from the log after a crash.
            cluster.brokers[0].kill9()
            cluster.start_broker(0)
            conn = kw.Connection(port)
            self.assertEqual(produce(kw.record_batch([b"d"], pid, 1, 0)), (0, 3), "duplicate detected after restart")
            self.assertEqual(produce(kw.record_batch([b"e"], pid, 1, 1)), (0, 4))
            conn.close()


if __name__ == "__main__":
    unittest.main()
