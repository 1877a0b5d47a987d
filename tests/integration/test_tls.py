"""TLS listeners with real clients and certificates made here with openssl: confluent-kafka,
kcat, kafka-python and kafkajs over SSL; mTLS (ssl.client.auth=required) naming the principal
from the certificate with ssl.principal.mapping.rules; SASL_SSL with PLAIN; two listeners on one
broker, each answered with its own addresses; refusals of a wrong CA, an unknown, untrusted
or expired client certificate while the broker goes on serving; three brokers replicating over
mTLS; a replaced certificate picked up without a restart."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaProducer

import certs
from harness import BROKER_BIN, Cluster, Process, free_port, port_open, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
JS_ROUNDTRIP = os.path.join(HERE, "js", "roundtrip.js")
JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" '
        'password="broker-secret" user_broker="broker-secret" user_alice="alice-secret";')


class Pki:
    """One CA for the cluster, another nobody trusts, and the certificates the tests use."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-tls-")
        self.ca = certs.Authority(self.dir, "ca")
        self.other_ca = certs.Authority(self.dir, "other-ca")
        self.broker = self.ca.issue("broker", "/O=sluice/CN=broker", hosts=("127.0.0.1", "localhost"))
        self.alice = self.ca.issue("alice", "/O=acme/OU=eng/CN=alice")
        self.stranger = self.other_ca.issue("stranger", "/O=acme/CN=stranger")
        self.expired = self.ca.issue("expired", "/O=acme/CN=expired", expired=True)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def tls_overrides(pki, client_auth):
    return {"ssl.keystore.location": pki.broker["keystore"], "ssl.truststore.location": pki.ca.cert,
            "ssl.client.auth": client_auth,
            # The brokers' own certificate (followers') and alice's name users.
            "ssl.principal.mapping.rules": "RULE:^CN=([^,]+),OU=eng,.*$/$1/L,RULE:^CN=([^,]+),O=sluice$/$1/,DEFAULT",
            # Brokers reach the controllers with TLS when they have more than one (below).
            "listener.security.protocol.map": "SSL:SSL,SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,CONTROLLER:SSL"}


def tls_cluster(pki, brokers=1, protocol="SSL", client_auth="none", extra=None, plaintext_port=None, controllers=1,
                controller_extra=None):
    """Brokers whose harness port is a `protocol` listener; `plaintext_port` adds a PLAINTEXT one.
    With several controllers, the controller RPC (brokers and Raft peers) runs over mTLS too."""
    overrides = {**tls_overrides(pki, client_auth), "default.replication.factor": str(brokers),
                 "offsets.topic.replication.factor": str(brokers), **(extra or {})}
    controller_overrides = dict(controller_extra or {})
    if controllers == 1:
        overrides["listener.security.protocol.map"] = "SSL:SSL,SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT"
    else:
        controller_overrides.update({"ssl.keystore.location": pki.broker["keystore"],
                                     "ssl.truststore.location": pki.ca.cert, "ssl.client.auth": "required",
                                     "listener.security.protocol.map": "CONTROLLER:SSL"})
    cluster = Cluster(brokers=brokers, controllers=controllers, broker_overrides=overrides,
                      controller_overrides=controller_overrides)
    for broker, port in zip(cluster.brokers, cluster.broker_ports):
        listeners = f"{protocol}://127.0.0.1:{port}"
        if plaintext_port:
            listeners += f",PLAINTEXT://127.0.0.1:{plaintext_port}"
        broker.argv += ["--override", f"listeners={listeners}"]
    return cluster


def ssl_config(cluster, pki, cert=None, ca=None, **extra):
    config = {"bootstrap.servers": cluster.bootstrap, "security.protocol": "SSL",
              "ssl.ca.location": ca or pki.ca.cert, **extra}
    if cert:
        config.update({"ssl.certificate.location": cert["cert"], "ssl.key.location": cert["key"]})
    return config


def refused(config, what):
    """Asserts that a client with `config` cannot get metadata (its TLS handshake fails)."""
    admin = AdminClient({**config, "socket.timeout.ms": 3000})
    try:
        admin.list_topics(timeout=4)
    except KafkaException:
        return
    raise AssertionError(f"{what}: the client was served")


def produce_and_consume(test, config, topic, count=20):
    producer = Producer({**config, "acks": "all"})
    for i in range(count):
        producer.produce(topic, value=f"{topic}-{i}".encode())
    test.assertEqual(producer.flush(30), 0, "records left unacknowledged")
    consumer = Consumer({**config, "group.id": f"{topic}-readers", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    seen = []
    wait_until(lambda: seen.extend(m.value() for m in consumer.consume(50, 0.5) if not m.error()) or len(seen) >= count,
               60, f"{count} records of {topic} read back")
    consumer.close()
    test.assertEqual(sorted(seen), sorted(f"{topic}-{i}".encode() for i in range(count)))


def served_certificate_serial(port, ca):
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert()["serialNumber"]


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()

    @classmethod
    def tearDownClass(cls):
        cls.pki.remove()

    def test_ssl_listener_serves_every_client_next_to_a_plaintext_one(self):
        pki = self.pki
        plaintext_port = free_port()
        cluster = tls_cluster(pki, plaintext_port=plaintext_port)
        with cluster:
            config = ssl_config(cluster, pki)
            admin = AdminClient(config)
            admin.create_topics([NewTopic("over-tls", 2, 1)])["over-tls"].result(30)
            produce_and_consume(self, config, "over-tls")

            # Metadata answers with the addresses of the listener the client came in on.
            tls_brokers = AdminClient(config).list_topics(timeout=10).brokers
            self.assertEqual([b.port for b in tls_brokers.values()], [cluster.broker_ports[0]])
            plain = AdminClient({"bootstrap.servers": f"127.0.0.1:{plaintext_port}"}).list_topics(timeout=10)
            self.assertEqual([b.port for b in plain.brokers.values()], [plaintext_port])
            self.assertIn("over-tls", plain.topics)

            kcat = subprocess.run(["kcat", "-b", cluster.bootstrap, "-X", "security.protocol=ssl",
                                   "-X", f"ssl.ca.location={pki.ca.cert}", "-C", "-t", "over-tls", "-e", "-q"],
                                  capture_output=True, text=True, timeout=60)
            self.assertEqual(kcat.returncode, 0, kcat.stderr)
            self.assertEqual(len(kcat.stdout.split()), 20)

            legacy = KafkaProducer(bootstrap_servers=cluster.bootstrap, security_protocol="SSL",
                                   ssl_cafile=pki.ca.cert)
            legacy.send("over-tls", b"from kafka-python").get(timeout=30)
            legacy.close()

            js = subprocess.run(["node", JS_ROUNDTRIP, cluster.bootstrap, "over-tls-js", "500"], capture_output=True,
                                text=True, timeout=120, env={**os.environ, "SLUICE_SSL_CA": pki.ca.cert})
            self.assertEqual(js.returncode, 0, js.stdout + js.stderr)

            # A client that trusts another CA does not get through, and the others still do.
            refused(ssl_config(cluster, pki, ca=pki.other_ca.cert), "a client trusting another CA")
            self.assertIn("over-tls", AdminClient(config).list_topics(timeout=10).topics)

    def test_mtls_names_the_principal_and_refuses_bad_certificates(self):
        pki = self.pki
        cluster = tls_cluster(pki, client_auth="required")
        audit_file = os.path.join(cluster.dir, "audit.log")
        cluster.brokers[0].argv += ["--override", f"audit.log.file={audit_file}"]
        with cluster:
            config = ssl_config(cluster, pki, cert=pki.alice)
            admin = AdminClient(config)
            admin.create_topics([NewTopic("mtls", 1, 1)])["mtls"].result(30)
            produce_and_consume(self, config, "mtls")

            refused(ssl_config(cluster, pki), "a client without a certificate")
            refused(ssl_config(cluster, pki, cert=pki.stranger), "a certificate from an untrusted CA")
            refused(ssl_config(cluster, pki, cert=pki.expired), "an expired certificate")
            self.assertIn("mtls", AdminClient(config).list_topics(timeout=10).topics)

            kcat = subprocess.run(["kcat", "-b", cluster.bootstrap, "-X", "security.protocol=ssl",
                                   "-X", f"ssl.ca.location={pki.ca.cert}",
                                   "-X", f"ssl.certificate.location={pki.alice['cert']}",
                                   "-X", f"ssl.key.location={pki.alice['key']}", "-L", "-t", "mtls"],
                                  capture_output=True, text=True, timeout=60)
            self.assertEqual(kcat.returncode, 0, kcat.stderr)
            js = subprocess.run(["node", JS_ROUNDTRIP, cluster.bootstrap, "mtls-js", "200"], capture_output=True,
                                text=True, timeout=120,
                                env={**os.environ, "SLUICE_SSL_CA": pki.ca.cert, "SLUICE_SSL_CERT": pki.alice["cert"],
                                     "SLUICE_SSL_KEY": pki.alice["key"]})
            self.assertEqual(js.returncode, 0, js.stdout + js.stderr)

            def created_by_alice():
                if not os.path.exists(audit_file):
                    return False
                with open(audit_file) as f:
                    lines = [json.loads(line) for line in f if line.strip()]
                created = any(l["api"] == "CreateTopics" and l["resource"] == "mtls" and l["principal"] == "User:alice"
                              and l["listener"] == "SSL" for l in lines)
                logins = {(l["principal"], l["result"]) for l in lines if l["api"] == "TlsHandshake"}
                return created and ("User:alice", "NONE") in logins and ("User:ANONYMOUS", "SSL_HANDSHAKE_FAILED") in logins
            wait_until(created_by_alice, 15,
                       "audit lines naming User:alice (ssl.principal.mapping.rules) and the refused handshakes")


    def test_sasl_ssl_with_plain(self):
        pki = self.pki
        cluster = tls_cluster(pki, protocol="SASL_SSL", extra={"sasl.jaas.config": JAAS})
        with cluster:
            config = {**ssl_config(cluster, pki), "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
                      "sasl.username": "alice", "sasl.password": "alice-secret"}
            admin = AdminClient(config)
            admin.create_topics([NewTopic("sasl-ssl", 1, 1)])["sasl-ssl"].result(30)
            produce_and_consume(self, config, "sasl-ssl")
            refused({**config, "sasl.password": "wrong"}, "a wrong password over SASL_SSL")
            legacy = KafkaProducer(bootstrap_servers=cluster.bootstrap, security_protocol="SASL_SSL",
                                   ssl_cafile=pki.ca.cert, sasl_mechanism="PLAIN", sasl_plain_username="alice",
                                   sasl_plain_password="alice-secret")
            legacy.send("sasl-ssl", b"from kafka-python").get(timeout=30)
            legacy.close()
            js = subprocess.run(["node", JS_ROUNDTRIP, cluster.bootstrap, "sasl-ssl-js", "200"], capture_output=True,
                                text=True, timeout=120,
                                env={**os.environ, "SLUICE_SSL_CA": pki.ca.cert, "SLUICE_SASL_USER": "alice",
                                     "SLUICE_SASL_PASSWORD": "alice-secret"})
            self.assertEqual(js.returncode, 0, js.stdout + js.stderr)

    def test_sasl_ssl_with_scram_sha_512(self):
        pki = self.pki
        scram_jaas = ('org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" '
                      'password="broker-secret";')
        cluster = tls_cluster(
            pki, protocol="SASL_SSL",
            extra={"sasl.enabled.mechanisms": "SCRAM-SHA-512", "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
                   "sasl.jaas.config": scram_jaas},
            controller_extra={"scram.bootstrap.credentials": "SCRAM-SHA-512=[name=broker,password=broker-secret];"
                                                             "SCRAM-SHA-512=[name=alice,password=alice-secret]"})
        with cluster:
            config = {**ssl_config(cluster, pki), "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
                      "sasl.username": "alice", "sasl.password": "alice-secret"}
            admin = AdminClient(config)
            admin.create_topics([NewTopic("scram-ssl", 1, 1)])["scram-ssl"].result(30)
            produce_and_consume(self, config, "scram-ssl")
            refused({**config, "sasl.password": "wrong"}, "a wrong SCRAM password over SASL_SSL")
            refused({**config, "sasl.username": "mallory"}, "an unknown SCRAM user over SASL_SSL")
            kcat = subprocess.run(["kcat", "-b", cluster.bootstrap, "-X", "security.protocol=sasl_ssl",
                                   "-X", f"ssl.ca.location={pki.ca.cert}", "-X", "sasl.mechanisms=SCRAM-SHA-512",
                                   "-X", "sasl.username=alice", "-X", "sasl.password=alice-secret",
                                   "-C", "-t", "scram-ssl", "-e", "-q"], capture_output=True, text=True, timeout=60)
            self.assertEqual(kcat.returncode, 0, kcat.stderr)
            self.assertEqual(len(kcat.stdout.split()), 20)
            legacy = KafkaProducer(bootstrap_servers=cluster.bootstrap, security_protocol="SASL_SSL",
                                   ssl_cafile=pki.ca.cert, sasl_mechanism="SCRAM-SHA-512",
                                   sasl_plain_username="alice", sasl_plain_password="alice-secret")
            legacy.send("scram-ssl", b"from kafka-python").get(timeout=30)
            legacy.close()
            js = subprocess.run(["node", JS_ROUNDTRIP, cluster.bootstrap, "scram-ssl-js", "200"], capture_output=True,
                                text=True, timeout=120,
                                env={**os.environ, "SLUICE_SSL_CA": pki.ca.cert, "SLUICE_SASL_USER": "alice",
                                     "SLUICE_SASL_PASSWORD": "alice-secret", "SLUICE_SASL_MECHANISM": "scram-sha-512"})
            self.assertEqual(js.returncode, 0, js.stdout + js.stderr)

    def test_three_brokers_replicate_and_reach_three_controllers_over_mtls(self):
        pki = self.pki
        cluster = tls_cluster(pki, brokers=3, client_auth="required", controllers=3,
                              extra={"min.insync.replicas": "3"})
        with cluster:
            config = ssl_config(cluster, pki, cert=pki.alice)
            admin = AdminClient(config)
            admin.create_topics([NewTopic("replicated-tls", 3, 3)])["replicated-tls"].result(30)
            # acks=all with min.insync.replicas=3: every follower fetched over mTLS.
            produce_and_consume(self, config, "replicated-tls", count=300)
            self.assertIn("(TLS)", cluster.controller.log())

            # A broker whose certificate another CA signed is not let in by the controllers.
            stranger_port = free_port()
            stranger = Process("broker-stranger", [
                BROKER_BIN, "--override", "node.id=9", "--override", f"listeners=SSL://127.0.0.1:{stranger_port}",
                "--override", f"controller.quorum.voters={cluster.voters}",
                "--override", f"log.dirs={cluster.dir}/broker-stranger",
                *sum((["--override", f"{k}={v}"] for k, v in tls_overrides(pki, "required").items()), []),
                "--override", f"ssl.keystore.location={pki.stranger['keystore']}",
            ], f"{cluster.dir}/broker-stranger.log")
            stranger.start()
            try:
                wait_until(lambda: any("TLS handshake with" in c.log() for c in cluster.controllers), 30,
                           "a controller to refuse the stranger's handshake")
                self.assertFalse(port_open(stranger_port), "a broker the controllers refused serves clients")
            finally:
                stranger.kill9()

    def test_a_replaced_certificate_is_served_without_a_restart(self):
        pki = self.pki
        keystore = os.path.join(pki.dir, "reloaded.keystore.pem")
        shutil.copy(pki.broker["keystore"], keystore)
        cluster = tls_cluster(pki, extra={"ssl.keystore.location": keystore})
        with cluster:
            port = cluster.broker_ports[0]
            before = served_certificate_serial(port, pki.ca.cert)
            renewed = pki.ca.issue("broker-renewed", "/O=sluice/CN=broker", hosts=("127.0.0.1", "localhost"))
            staged = keystore + ".new"
            shutil.copy(renewed["keystore"], staged)
            os.replace(staged, keystore)
            wait_until(lambda: served_certificate_serial(port, pki.ca.cert) != before, 15,
                       "new connections to be served the renewed certificate")
            produce_and_consume(self, ssl_config(cluster, pki), "after-renewal")


if __name__ == "__main__":
    unittest.main()
