"""The README's quick start: deploy/local/cluster up, status and down."""
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.request

import random
import socket


CLUSTER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "local", "cluster")


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_base_port():
    """A base port P with P, P+1 (second broker) and P+100..P+102 (controllers) free, and their
    admin ports 1000 above, below the kernel's ephemeral range so that no outgoing connection
    takes one of them meanwhile."""
    for _ in range(200):
        base = random.randrange(20000, 30000)
        ports = [base, base + 1, base + 100, base + 101, base + 102]
        if all(port_free(p) and port_free(p + 1000) for p in ports):
            return base
    raise AssertionError("no free ports found in 20000-30102")


def run(*args, timeout=300):
    return subprocess.run([CLUSTER, *args], capture_output=True, text=True, timeout=timeout)


class LocalClusterTest(unittest.TestCase):
    def test_up_status_down(self):
        self.up_status_down(controllers=1)

    def test_three_controllers(self):
        self.up_status_down(controllers=3)

    def test_sasl_ssl(self):
        """`up --security sasl_ssl`: certificates, SCRAM-SHA-512 with a super user, mTLS between
        the processes, encryption at rest and client configurations under the data directory."""
        data = tempfile.mkdtemp(prefix="sluice-local-secure-")
        port = free_base_port()
        try:
            up = run("up", "--security", "sasl_ssl", "--brokers", "2", "--controllers", "1", "--port", str(port),
                     "--data", data)
            self.assertEqual(up.returncode, 0, up.stdout + up.stderr)
            def read(name):
                with open(os.path.join(data, name)) as f:
                    return f.read()
            password = read("admin.password").strip()
            self.assertEqual(os.stat(os.path.join(data, "admin.password")).st_mode & 0o077, 0)
            properties = dict(line.split("=", 1) for line in read("client.properties").split("\n") if "=" in line)
            self.assertEqual(properties["security.protocol"], "SASL_SSL")
            self.assertEqual(properties["sasl.mechanism"], "SCRAM-SHA-512")
            self.assertIn(f'username="admin" password="{password}"', properties["sasl.jaas.config"])
            self.assertEqual(properties["ssl.truststore.type"], "PEM")
            self.assertTrue(os.path.exists(properties["ssl.truststore.location"]))
            config = os.path.join(data, "librdkafka.conf")
            bootstrap = f"127.0.0.1:{port},127.0.0.1:{port + 1}"
            produced = subprocess.run(["kcat", "-F", config, "-b", bootstrap, "-P", "-t", "secured-local"],
                                      input="needle-in-the-log\n", capture_output=True, text=True, timeout=60)
            self.assertEqual(produced.returncode, 0, produced.stderr)
            consumed = subprocess.run(["kcat", "-F", config, "-b", bootstrap, "-C", "-t", "secured-local", "-e", "-q"],
                                      capture_output=True, text=True, timeout=60)
            self.assertEqual(consumed.stdout.split(), ["needle-in-the-log"], consumed.stderr)
            wrong = subprocess.run(["kcat", "-b", bootstrap, "-X", "security.protocol=sasl_ssl",
                                    "-X", f"ssl.ca.location={properties['ssl.truststore.location']}",
                                    "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=admin",
                                    "-X", "sasl.password=not-it", "-L", "-m", "5"], capture_output=True, text=True,
                                   timeout=60)
            self.assertNotEqual(wrong.returncode, 0)
            self.assertIn("invalid credentials", wrong.stderr)
            plaintext = subprocess.run(["kcat", "-b", bootstrap, "-L", "-m", "3"], capture_output=True, text=True,
                                       timeout=60)
            self.assertNotEqual(plaintext.returncode, 0, "a PLAINTEXT client was served")
            # Encryption at rest: the record is in the brokers' logs, but not in plain bytes.
            for broker in ("broker-1", "broker-2"):
                for root, _, files in os.walk(os.path.join(data, broker)):
                    for name in files:
                        with open(os.path.join(root, name), "rb") as f:
                            self.assertNotIn(b"needle-in-the-log", f.read(), os.path.join(root, name))
            for log in ("controller-3000", "broker-1"):
                self.assertIn("(TLS)", read(os.path.join("logs", f"{log}.log")))
        finally:
            down = run("down", "--data", data)
            shutil.rmtree(data, ignore_errors=True)
        self.assertEqual(down.returncode, 0, down.stdout + down.stderr)

    def up_status_down(self, controllers):
        data = tempfile.mkdtemp(prefix="sluice-local-")
        port = free_base_port()
        try:
            up = run("up", "--brokers", "2", "--controllers", str(controllers), "--port", str(port), "--data", data)
            self.assertEqual(up.returncode, 0, up.stdout + up.stderr)
            self.assertIn(f"127.0.0.1:{port},127.0.0.1:{port + 1}", up.stdout)
            self.assertIn(",".join(f"{3000 + i}@127.0.0.1:{port + 100 + i}" for i in range(controllers)), up.stdout)
            status = run("status", "--data", data)
            self.assertEqual(status.returncode, 0, status.stdout)
            self.assertEqual(status.stdout.count("running (pid"), 2 + controllers)
            self.assertIn(f"broker-2: running", status.stdout)
            self.assertIn(f"kafka=127.0.0.1:{port + 1} admin=http://127.0.0.1:{port + 1001}", status.stdout)
            self.assertIn(f"controller=127.0.0.1:{port + 100} admin=http://127.0.0.1:{port + 1100}", status.stdout)
            for admin_port in (port + 1000, port + 1001, port + 1100):
                with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/healthz", timeout=10) as response:
                    self.assertEqual(response.read(), b"ok\n")
            listing = subprocess.run(["kcat", "-b", f"127.0.0.1:{port + 1}", "-L"], capture_output=True, text=True,
                                     timeout=30)
            self.assertIn("2 brokers", listing.stdout)
            again = run("up", "--port", str(port), "--data", data)
            self.assertNotEqual(again.returncode, 0, "a second 'up' on the same data must refuse")
        finally:
            down = run("down", "--data", data)
            stopped = run("status", "--data", data)
            shutil.rmtree(data, ignore_errors=True)
        self.assertEqual(down.returncode, 0, down.stdout + down.stderr)
        self.assertEqual(stopped.returncode, 3, stopped.stdout)


if __name__ == "__main__":
    unittest.main()
