"""The container image (deploy/docker/Dockerfile) under podman: the runtime image holds the two
binaries, exactly their shared libraries, the loader and the user's skeleton; a controller and a
broker container configured only by SLUICE_ environment variables serve real clients, and the
broker's records survive a SIGTERM and a new container on the same volume.

SLUICE_TEST_IMAGE names an image built beforehand (tests/run builds one with
deploy/docker/build-image before ctest); unset, the test builds localhost/sluice:test itself.
podman runs through deploy/docker/podman-here, which holds this machine's workarounds."""
import io
import json
import os
import subprocess
import tarfile
import unittest
import urllib.error
import urllib.request
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import free_port, wait_until

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PODMAN = os.path.join(REPO, "deploy", "docker", "podman-here")
BUILD_IMAGE = os.path.join(REPO, "deploy", "docker", "build-image")
USER_ID = 10001
LOADER = "lib64/ld-linux-x86-64.so.2"
BINARIES = ("usr/bin/sluice-broker", "usr/bin/sluice-controller")
SKELETON_FILES = ("etc/passwd", "etc/group", "etc/nsswitch.conf")
RECORDS = 200


def podman(*args, check=True, timeout=120):
    """podman ARGS through podman-here; stdout as bytes. Fails the test when podman does."""
    result = subprocess.run([PODMAN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited with {result.returncode}: "
                             f"{result.stderr.decode(errors='replace')}")
    return result.stdout


def parents(path):
    """The directories above a relative path: parents("a/b/c") == {"a", "a/b"}."""
    parts = path.split("/")
    return {"/".join(parts[:i]) for i in range(1, len(parts))}


def http_get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path; (None, reason) when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return None, str(error)


class ContainerImageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.image = os.environ.get("SLUICE_TEST_IMAGE")
        if not cls.image:
            cls.image = "localhost/sluice:test"
            subprocess.run([BUILD_IMAGE, cls.image], check=True, timeout=3600)
        if subprocess.run([PODMAN, "image", "exists", cls.image]).returncode != 0:
            raise AssertionError(f"no image {cls.image}: build it with deploy/docker/build-image {cls.image}")

    def setUp(self):
        self.suffix = uuid.uuid4().hex[:8]
        self.containers, self.volumes = [], []
        self.addCleanup(self.remove_containers_and_volumes)

    def remove_containers_and_volumes(self):
        for name in self.containers:
            podman("rm", "--force", "--volumes", "--time", "0", name, check=False)
        for name in self.volumes:
            podman("volume", "rm", "--force", name, check=False)

    def print_logs(self):
        for name in self.containers:
            log = subprocess.run([PODMAN, "logs", name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 timeout=60).stdout.decode(errors="replace")
            print(f"---- container {name} log (tail) ----\n{log[-4000:]}")

    def name(self, role):
        return f"sluice-it-{role}-{self.suffix}"

    def volume(self, role):
        name = self.name(role)
        podman("volume", "create", name)
        self.volumes.append(name)
        return name

    def run_container(self, role, volume, env, entrypoint=None, extra=()):
        """Starts a container of the image on the host's network with `volume` at
        /var/lib/sluice, configured by the SLUICE_ variables in `env` and nothing else."""
        name = self.name(role)
        self.containers.append(name)
        args = ["run", "--detach", "--name", name, "--network", "host", "--volume", f"{volume}:/var/lib/sluice",
                *extra, *sum((["--env", f"{key}={value}"] for key, value in env.items()), [])]
        if entrypoint:
            args += ["--entrypoint", entrypoint]
        podman(*args, self.image)
        return name

    def state(self, name):
        return json.loads(podman("inspect", "--format", "{{json .State}}", name))

    def wait_ready(self, name, admin_port):
        def ready():
            state = self.state(name)
            if not state["Running"]:
                raise AssertionError(f"container {name} exited with {state['ExitCode']} before /readyz answered 200")
            return http_get(admin_port, "/readyz")[0] == 200
        wait_until(ready, 60, f"/readyz of container {name} on port {admin_port}", interval=0.2)

    def stop_cleanly(self, name):
        """podman stop: SIGTERM, then SIGKILL after 60 s; a clean stop exits 0 (a killed one 137)."""
        podman("stop", "--time", "60", name, timeout=120)
        state = self.state(name)
        self.assertFalse(state["Running"], f"{name} still runs after podman stop")
        self.assertEqual(state["ExitCode"], 0, f"{name} did not exit cleanly on SIGTERM")

    def test_runtime_image_holds_only_the_binaries_their_libraries_and_the_user(self):
        config = json.loads(podman("image", "inspect", "--format", "{{json .Config}}", self.image))
        self.assertEqual(config["User"], f"{USER_ID}:{USER_ID}")
        self.assertEqual(list(config["Volumes"]), ["/var/lib/sluice"])
        self.assertEqual(config["Entrypoint"], ["/usr/bin/sluice-broker"])
        self.assertIn("SLUICE_LOG_DIRS=/var/lib/sluice/kafka-logs", config["Env"])
        self.assertIn("SLUICE_METADATA_LOG_DIR=/var/lib/sluice/metadata", config["Env"])
        self.assertEqual(sorted(config["ExposedPorts"]), ["9092/tcp", "9093/tcp", "9644/tcp"])

        name = self.name("export")
        podman("create", "--name", name, self.image)
        self.containers.append(name)
        with tarfile.open(fileobj=io.BytesIO(podman("export", name, timeout=300))) as archive:
            entries = {member.name.removeprefix("./").rstrip("/"): member for member in archive.getmembers()}
            passwd = archive.extractfile("etc/passwd").read().decode()
            group = archive.extractfile("etc/group").read().decode()
        entries.pop("", None)
        files = {path for path, member in entries.items() if not member.isdir()}

        # The libraries the image's own loader resolves for the two binaries, inside the image.
        needed = set()
        for binary in BINARIES:
            listing = podman("run", "--rm", "--entrypoint", "/" + LOADER, self.image, "--list", "/" + binary).decode()
            self.assertNotIn("not found", listing, f"{binary} misses libraries in the image:\n{listing}")
            for line in listing.splitlines():
                words = line.split()
                path = words[2] if len(words) > 2 and words[1] == "=>" else words[0]
                if path.startswith("/"):
                    needed.add(path.lstrip("/"))
        self.assertIn(LOADER, needed)
        self.assertEqual(files, needed | set(BINARIES) | set(SKELETON_FILES),
                         "the image holds exactly the binaries, their libraries, the loader and the skeleton")
        for path in files:
            self.assertTrue(entries[path].isfile(), f"{path} is not a regular file")
            self.assertEqual((entries[path].uid, entries[path].mode & 0o022), (0, 0),
                             f"{path} must be root's and writable by root only")
        directories = {path for path, member in entries.items() if member.isdir()}
        expected_directories = {"var/lib/sluice"}.union(*(parents(path) for path in files | {"var/lib/sluice"}))
        self.assertEqual(directories, expected_directories,
                         "directories other than the files' parents and the data directory")

        data = entries["var/lib/sluice"]
        self.assertEqual((data.uid, data.gid), (USER_ID, USER_ID), "the data directory is the user's")
        # The only user is the non-root one the image runs as.
        self.assertEqual(passwd, f"sluice:x:{USER_ID}:{USER_ID}:Sluice:/var/lib/sluice:/nonexistent\n")
        self.assertEqual(group, f"sluice:x:{USER_ID}:\n")

    def test_controller_and_broker_containers_serve_clients_and_keep_records_on_the_volume(self):
        try:
            self.controller_and_broker()
        except BaseException:
            self.print_logs()
            raise

    def controller_and_broker(self):
        controller_port, controller_admin, broker_port, broker_admin = (free_port() for _ in range(4))
        controller_volume, broker_volume = self.volume("controller"), self.volume("broker")
        controller = self.run_container("controller", controller_volume, entrypoint="/usr/bin/sluice-controller", env={
            "SLUICE_NODE_ID": "3000",
            "SLUICE_LISTENERS": f"CONTROLLER://127.0.0.1:{controller_port}",
            "SLUICE_CONTROLLER_QUORUM_VOTERS": f"3000@127.0.0.1:{controller_port}",
            "SLUICE_ADMIN_LISTENERS": f"http://127.0.0.1:{controller_admin}",
        })
        # The broker reaches the controller by a name, as pods do: the image's libc resolves it
        # through the /etc/hosts podman writes.
        broker_env = {
            "SLUICE_NODE_ID": "1",
            "SLUICE_LISTENERS": f"PLAINTEXT://127.0.0.1:{broker_port}",
            "SLUICE_CONTROLLER_QUORUM_VOTERS": f"3000@controller.sluice.test:{controller_port}",
            "SLUICE_ADMIN_LISTENERS": f"http://127.0.0.1:{broker_admin}",
        }
        add_host = ("--add-host", "controller.sluice.test:127.0.0.1")
        broker = self.run_container("broker", broker_volume, broker_env, extra=add_host)
        self.wait_ready(controller, controller_admin)
        self.wait_ready(broker, broker_admin)

        for name in (controller, broker):
            with open(f"/proc/{self.state(name)['Pid']}/status") as status:
                uids = next(line for line in status if line.startswith("Uid:")).split()[1:]
            self.assertEqual(uids, [str(USER_ID)] * 4, f"{name} runs as the image's user")

        bootstrap = f"127.0.0.1:{broker_port}"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("boxed", 1, 1)])["boxed"].result(30)
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
        values = [f"record-{i}".encode() for i in range(RECORDS)]
        for value in values:
            producer.produce("boxed", value=value, partition=0)
        self.assertEqual(producer.flush(30), 0, "records left unacknowledged")
        self.assertEqual(self.consume_all(bootstrap), values)

        self.stop_cleanly(broker)
        mountpoint = podman("volume", "inspect", "--format", "{{.Mountpoint}}", broker_volume).decode().strip()
        partition_dir = os.path.join(mountpoint, "kafka-logs", "boxed-0")
        self.assertTrue(os.path.isdir(partition_dir), f"no {partition_dir} on the broker's volume")
        self.assertEqual(os.stat(partition_dir).st_uid, USER_ID)
        controller_mountpoint = podman("volume", "inspect", "--format", "{{.Mountpoint}}", controller_volume)
        self.assertTrue(os.listdir(os.path.join(controller_mountpoint.decode().strip(), "metadata")),
                        "the controller's Raft log is not on its volume")

        # A new container on the same volume: the records come from the volume, not the old container.
        restarted = self.run_container("broker-again", broker_volume, broker_env, extra=add_host)
        self.wait_ready(restarted, broker_admin)
        self.assertEqual(self.consume_all(bootstrap), values)
        self.stop_cleanly(restarted)
        self.stop_cleanly(controller)

    def consume_all(self, bootstrap):
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"boxed-{uuid.uuid4().hex}",
                             "enable.auto.commit": False})
        try:
            consumer.assign([TopicPartition("boxed", 0, 0)])
            received = []

            def all_received():
                received.extend(m.value() for m in consumer.consume(RECORDS, 0.5) if not m.error())
                return len(received) >= RECORDS
            wait_until(all_received, 30, f"{RECORDS} records consumed from boxed-0")
            return received
        finally:
            consumer.close()


if __name__ == "__main__":
    unittest.main()
