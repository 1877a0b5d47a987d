"""The README's quick start: deploy/local/cluster up, status and down."""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import free_port

CLUSTER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "local", "cluster")


def run(*args, timeout=300):
    return subprocess.run([CLUSTER, *args], capture_output=True, text=True, timeout=timeout)


class LocalClusterTest(unittest.TestCase):
    def test_up_status_down(self):
        data = tempfile.mkdtemp(prefix="sluice-local-")
        port = free_port()
        try:
            up = run("up", "--brokers", "2", "--port", str(port), "--data", data)
            self.assertEqual(up.returncode, 0, up.stdout + up.stderr)
            self.assertIn(f"127.0.0.1:{port},127.0.0.1:{port + 1}", up.stdout)
            status = run("status", "--data", data)
            self.assertEqual(status.returncode, 0, status.stdout)
            self.assertEqual(status.stdout.count("running (pid"), 3)
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
