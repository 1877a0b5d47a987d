"""SASL/PLAIN on a SASL_PLAINTEXT listener, with real clients: librdkafka (confluent-kafka),
kafkajs, kcat and kafka-python (SaslHandshake v0) log in and work; a wrong password gets Kafka's SASL_AUTHENTICATION_FAILED and a
closed connection; nothing but ApiVersions is served before a login; three brokers replicate
over the same listener (the followers log in too); the audit log names the users."""
import json
import os
import socket
import struct
import subprocess
import time
import unittest

import kafka.errors
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from kafka import KafkaProducer
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire
from harness import BUILD_DIR, Cluster, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
JS_ROUNDTRIP = os.path.join(HERE, "js", "roundtrip.js")
JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" '
        'password="broker-secret" user_broker="broker-secret" user_alice="alice-secret";')


def sasl_cluster(brokers=1, audit_file=None):
    overrides = {"sasl.jaas.config": JAAS, "default.replication.factor": str(brokers),
                 "offsets.topic.replication.factor": str(brokers)}
    if audit_file:
        overrides["audit.log.file"] = audit_file
    cluster = Cluster(brokers=brokers, controllers=1, broker_overrides=overrides)
    for broker, port in zip(cluster.brokers, cluster.broker_ports):
        broker.argv += ["--override", f"listeners=SASL_PLAINTEXT://127.0.0.1:{port}"]
    return cluster


def client_config(cluster, user="alice", password="alice-secret"):
    return {"bootstrap.servers": cluster.bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN", "sasl.username": user, "sasl.password": password}


class SaslPlainTest(unittest.TestCase):
    def test_clients_log_in_and_the_audit_log_names_them(self):
        cluster = sasl_cluster()
        audit_file = os.path.join(cluster.dir, "audit.log")
        cluster.brokers[0].argv += ["--override", f"audit.log.file={audit_file}"]
        with cluster:
            admin = AdminClient(client_config(cluster))
            admin.create_topics([NewTopic("secured", 1, 1)])["secured"].result(30)
            producer = Producer({**client_config(cluster), "acks": "all"})
            for i in range(20):
                producer.produce("secured", value=f"r{i}".encode())
            self.assertEqual(producer.flush(30), 0)
            consumer = Consumer({**client_config(cluster), "group.id": "secured-readers",
                                 "auto.offset.reset": "earliest"})
            consumer.subscribe(["secured"])
            seen = []
            wait_until(lambda: seen.extend(m.value() for m in consumer.consume(20, 0.5) if not m.error())
                       or len(seen) >= 20, 60, "20 records read over SASL")
            consumer.close()
            self.assertEqual(sorted(seen), sorted(f"r{i}".encode() for i in range(20)))

            listed = subprocess.run(["kcat", "-b", cluster.bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
                                     "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=alice",
                                     "-X", "sasl.password=alice-secret", "-C", "-t", "secured", "-e", "-q"],
                                    capture_output=True, text=True, timeout=60)
            self.assertEqual(listed.returncode, 0, listed.stderr)
            self.assertEqual(len(listed.stdout.split()), 20)

            js = subprocess.run(["node", JS_ROUNDTRIP, cluster.bootstrap, "secured-js", "500"], capture_output=True,
                                text=True, timeout=120,
                                env={**os.environ, "SLUICE_SASL_USER": "alice", "SLUICE_SASL_PASSWORD": "alice-secret"})
            self.assertEqual(js.returncode, 0, js.stdout + js.stderr)

            # kafka-python 2.0 uses SaslHandshake v0: its token follows as a bare frame.
            legacy = KafkaProducer(bootstrap_servers=cluster.bootstrap, security_protocol="SASL_PLAINTEXT",
                                   sasl_mechanism="PLAIN", sasl_plain_username="alice",
                                   sasl_plain_password="alice-secret")
            legacy.send("secured", b"from kafka-python").get(timeout=30)
            legacy.close()
            with self.assertRaises(kafka.errors.KafkaError):
                KafkaProducer(bootstrap_servers=cluster.bootstrap, security_protocol="SASL_PLAINTEXT",
                              sasl_mechanism="PLAIN", sasl_plain_username="alice", sasl_plain_password="wrong",
                              api_version=(2, 0), max_block_ms=5000).send("secured", b"never").get(timeout=10)

            def audited():
                with open(audit_file) as f:
                    return [json.loads(line) for line in f]
            wait_until(lambda: os.path.exists(audit_file) and any(r["api"] == "CreateTopics" for r in audited()),
                       30, "the CreateTopics audit line")
            created = next(r for r in audited() if r["api"] == "CreateTopics")
            self.assertEqual((created["principal"], created["listener"], created["resource"]),
                             ("User:alice", "SASL_PLAINTEXT", "secured"))
            logins = [r for r in audited() if r["api"] == "SaslAuthenticate"]
            self.assertTrue(logins and all(r["resource"] == "alice" for r in logins))
            results = {r["result"] for r in logins}
            self.assertEqual(results, {"NONE", "SASL_AUTHENTICATION_FAILED"})  # kafka-python's wrong password

    def test_a_wrong_password_is_refused_as_kafka_refuses_it(self):
        with sasl_cluster() as cluster:
            errors = []
            producer = Producer({**client_config(cluster, password="wrong"),
                                 "error_cb": lambda error: errors.append(error)})
            producer.produce("anything", b"x")
            wait_until(lambda: producer.poll(0.2) is not None and errors, 30, "an authentication error")
            self.assertEqual(errors[0].code(), KafkaError._AUTHENTICATION)
            self.assertIn("Authentication failed: Invalid username or password", errors[0].str())

            # The same over raw frames: SaslHandshake v1, then SaslAuthenticate v1 with a bad
            # password: SASL_AUTHENTICATION_FAILED (58), then the broker closes the connection.
            port = cluster.broker_ports[0]
            conn = kafka_wire.Connection(port)
            conn.send(kafka_wire.request(17, 1, 1, kafka_wire.string("PLAIN")))
            handshake = conn.receive()
            self.assertEqual(struct.unpack(">ih", handshake[:6]), (1, 0))
            token = b"\0alice\0nope"
            conn.send(kafka_wire.request(36, 1, 2, struct.pack(">i", len(token)) + token))
            answer = conn.receive()
            self.assertEqual(struct.unpack(">ih", answer[:6]), (2, 58))
            self.assertTrue(conn.closed_by_peer())

    def test_sessions_end_and_clients_log_in_again_on_the_connection(self):
        """KIP-368: connections.max.reauth.ms ends a login's session; SaslAuthenticate v1 says
        when; a re-authentication on the connection keeps it (same mechanism and principal),
        and librdkafka 2.15 does that by itself."""
        cluster = sasl_cluster()
        audit_file = os.path.join(cluster.dir, "audit.log")
        cluster.brokers[0].argv += ["--override", "connections.max.reauth.ms=2000",
                                    "--override", f"audit.log.file={audit_file}"]
        with cluster:
            port = cluster.broker_ports[0]

            def log_in(conn, user="alice", password="alice-secret", correlation=1):
                conn.send(kafka_wire.request(17, 1, correlation, kafka_wire.string("PLAIN")))
                handshake = conn.receive()
                if handshake is None or struct.unpack(">ih", handshake[:6])[1] != 0:
                    return handshake and struct.unpack(">ih", handshake[:6])[1]
                token = f"\0{user}\0{password}".encode()
                conn.send(kafka_wire.request(36, 1, correlation + 1, struct.pack(">i", len(token)) + token))
                answer = conn.receive()
                error = struct.unpack(">ih", answer[:6])[1]
                # v1: error, message (null: -1), auth bytes, session lifetime
                rest = answer[6:]
                (message_size,) = struct.unpack(">h", rest[:2])
                rest = rest[2 + max(message_size, 0):]
                (auth_size,) = struct.unpack(">i", rest[:4])
                (lifetime,) = struct.unpack(">q", rest[4 + auth_size:12 + auth_size])
                return error, lifetime

            def metadata(conn, correlation):
                conn.send(kafka_wire.request(3, 1, correlation, struct.pack(">i", -1)))
                return conn.receive()

            conn = kafka_wire.Connection(port)
            error, lifetime = log_in(conn)
            self.assertEqual(error, 0)
            self.assertTrue(0 < lifetime <= 2000, lifetime)
            self.assertIsNotNone(metadata(conn, 3))
            # Re-authenticating keeps the connection past the first session's end.
            started = time.monotonic()
            correlation = 10

            def served_past_the_first_session():
                nonlocal correlation
                correlation += 3
                self.assertEqual(log_in(conn, correlation=correlation)[0], 0)
                self.assertIsNotNone(metadata(conn, correlation + 2), "closed although re-authenticated")
                return time.monotonic() - started > 3.0
            wait_until(served_past_the_first_session, 10, "a re-authenticated connection served past 3 s", interval=0.5)

            # Without re-authentication the connection is closed once the session ends.
            idle = kafka_wire.Connection(port)
            self.assertEqual(log_in(idle)[0], 0)
            idle_since = time.monotonic()
            responses = iter(range(100, 10_000))
            wait_until(lambda: metadata(idle, next(responses)) is None, 10, "the expired session's connection to close",
                       interval=0.2)
            self.assertGreater(time.monotonic() - idle_since, 1.5)

            # A re-authentication may not change the principal, nor the mechanism.
            other = kafka_wire.Connection(port)
            self.assertEqual(log_in(other)[0], 0)
            self.assertEqual(log_in(other, user="broker", password="broker-secret", correlation=5)[0], 58)
            self.assertTrue(other.closed_by_peer())
            other = kafka_wire.Connection(port)
            self.assertEqual(log_in(other)[0], 0)
            other.send(kafka_wire.request(17, 1, 7, kafka_wire.string("SCRAM-SHA-256")))
            self.assertEqual(struct.unpack(">ih", other.receive()[:6])[1], 34)  # ILLEGAL_SASL_STATE

            # librdkafka 2.15 (built by tests/run) re-authenticates by itself: one consumer
            # connection, several successful logins from the same client address.
            lib = os.path.join(BUILD_DIR, "librdkafka", "librdkafka", "src")
            if not os.path.exists(os.path.join(lib, "librdkafka.so.1")):
                raise AssertionError(f"no librdkafka 2.15 in {lib}: tests/run builds it (tests/integration/librdkafka)")
            admin = AdminClient(client_config(cluster))
            admin.create_topics([NewTopic("reauth", 1, 1)])["reauth"].result(30)
            kcat = subprocess.Popen(["kcat", "-b", cluster.bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
                                     "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=alice",
                                     "-X", "sasl.password=alice-secret", "-C", "-t", "reauth", "-o", "beginning",
                                     "-q", "-c", "2"], stdout=subprocess.PIPE, text=True,
                                    env={**os.environ, "LD_LIBRARY_PATH": lib})
            producer = Producer(client_config(cluster))
            producer.produce("reauth", value=b"first")
            self.assertEqual(producer.flush(30), 0)

            def logins_per_client():
                with open(audit_file) as f:
                    lines = [json.loads(line) for line in f if line.strip()]
                counts = {}
                for line in lines:
                    if line["api"] == "SaslAuthenticate" and line["result"] == "NONE":
                        counts[line["client"]] = counts.get(line["client"], 0) + 1
                return counts
            wait_until(lambda: max(logins_per_client().values(), default=0) >= 3, 30,
                       "librdkafka 2.15 to log in again on one connection (three logins from one client address)")
            producer.produce("reauth", value=b"second")
            self.assertEqual(producer.flush(30), 0)
            out, _ = kcat.communicate(timeout=30)
            self.assertEqual(kcat.returncode, 0)
            self.assertEqual(out.split(), ["first", "second"])

    def test_followers_log_in_again_before_their_sessions_end(self):
        cluster = sasl_cluster(brokers=3)
        for broker in cluster.brokers:
            broker.argv += ["--override", "connections.max.reauth.ms=1500", "--override", "min.insync.replicas=3"]
        with cluster:
            admin = AdminClient(client_config(cluster))
            admin.create_topics([NewTopic("reauth-replicated", 1, 3)])["reauth-replicated"].result(30)
            producer = Producer({**client_config(cluster), "acks": "all"})
            started = time.monotonic()
            sent = 0

            def produced_for_five_seconds():
                nonlocal sent
                producer.produce("reauth-replicated", value=f"r{sent}".encode())
                sent += 1
                self.assertEqual(producer.flush(30), 0, "a record not acknowledged by all three replicas")
                return time.monotonic() - started > 5
            wait_until(produced_for_five_seconds, 60, "acks=all produce across several follower sessions",
                       interval=0.1)
            for broker in cluster.brokers:
                self.assertNotIn("SASL/PLAIN login as broker", broker.log(), f"{broker.name}: a follower login failed")

    def test_only_api_versions_is_served_before_a_login(self):
        with sasl_cluster() as cluster:
            port = cluster.broker_ports[0]
            conn = kafka_wire.Connection(port)
            conn.send(kafka_wire.request(18, 0, 1, b""))
            self.assertEqual(struct.unpack(">ih", conn.receive()[:6]), (1, 0))
            conn.send(kafka_wire.request(3, 1, 2, struct.pack(">i", -1)))  # Metadata, all topics
            self.assertTrue(conn.closed_by_peer())
            # A mechanism that is not enabled: UNSUPPORTED_SASL_MECHANISM (33), then closed.
            conn = kafka_wire.Connection(port)
            conn.send(kafka_wire.request(17, 1, 1, kafka_wire.string("SCRAM-SHA-256")))
            self.assertEqual(struct.unpack(">ih", conn.receive()[:6]), (1, 33))
            self.assertTrue(conn.closed_by_peer())

    def test_three_brokers_replicate_over_the_sasl_listener(self):
        with sasl_cluster(brokers=3) as cluster:
            admin = AdminClient(client_config(cluster))
            admin.create_topics([NewTopic("replicated", 3, 3, config={"min.insync.replicas": "3"})])["replicated"].result(30)
            # acks=all with min.insync.replicas 3: every follower must have fetched, logged in.
            admin_config = client_config(cluster)
            producer = Producer({**admin_config, "acks": "all"})
            for i in range(30):
                producer.produce("replicated", value=b"v", partition=i % 3)
            self.assertEqual(producer.flush(30), 0)

            def all_in_sync():
                topic = admin.list_topics("replicated", timeout=10).topics["replicated"]
                return all(len(p.isrs) == 3 for p in topic.partitions.values())
            wait_until(all_in_sync, 30, "every follower in sync over SASL_PLAINTEXT")
            consumer = Consumer({**admin_config, "group.id": "r", "enable.auto.commit": False})
            high = [consumer.get_watermark_offsets(TopicPartition("replicated", p), timeout=10)[1] for p in range(3)]
            consumer.close()
            self.assertEqual(sum(high), 30)


if __name__ == "__main__":
    unittest.main()
