"""One network namespace per cluster node, joined by a bridge in the root namespace.

    root namespace: bridge slf<run>br, address 10.A.B.1/24 (the clients live here)
      |- veth slf<run>h<i>  <->  veth0 in namespace slf<run>-<node>, address 10.A.B.<host>/24

Every node reaches every other node and the clients through the bridge (layer 2, no routing or
forwarding needed). Isolating a node sets its root-side veth down: the bridge port drops every
frame either way, so neither clients nor other nodes reach it and it reaches nobody, while its
process and sockets stay as they were. Healing sets the link up again.

Names carry the runner's pid (`run`) so two runs never share a link or namespace; the /24 is
derived from the pid too and moved on if any address or route of the root namespace already
overlaps it. `clean_stale()` removes what runs that no longer exist left behind (and the
processes inside their namespaces); `destroy()` removes this run's.
"""
import ipaddress
import os
import re
import signal
import subprocess

PREFIX = "slf"
_OWNED = re.compile(rf"^{PREFIX}(\d+)(?:br|h\d+|-.+)$")
_FIRST_SUBNET = ipaddress.ip_network("10.128.0.0/24")
_SUBNET_SLOTS = 32768  # /24s from 10.128.0.0 to 10.255.255.0


def ip(*args, check=True):
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _run_is_alive(run):
    """A run is alive while its pid runs the fault runner (pids are reused)."""
    if run == os.getpid():
        return True
    try:
        with open(f"/proc/{run}/cmdline", "rb") as f:
            return b"run_fault" in f.read()
    except OSError:
        return False


def _root_networks():
    """Every network the root namespace has an address or a route in."""
    networks = []
    for line in ip("-o", "-4", "addr", "show").splitlines():
        fields = line.split()
        networks.append(ipaddress.ip_interface(fields[fields.index("inet") + 1]).network)
    for line in ip("-4", "route", "show", "table", "all").splitlines():
        first = line.split()[0] if line.split() else ""
        if first in ("broadcast", "local", "unicast"):
            first = line.split()[1]
        if first and first != "default" and re.match(r"^\d+\.\d+\.\d+\.\d+(/\d+)?$", first):
            networks.append(ipaddress.ip_network(first, strict=False))
    return networks


def _pick_subnet(run):
    taken = _root_networks()
    for step in range(_SUBNET_SLOTS):
        slot = (run + step) % _SUBNET_SLOTS
        candidate = ipaddress.ip_network((int(_FIRST_SUBNET.network_address) + slot * 256, 24))
        if not any(candidate.overlaps(net) for net in taken):
            return candidate
    raise RuntimeError("no free /24 in 10.128.0.0/9 for the fault suite's bridge")


def _kill_namespace_processes(namespace):
    for pid in ip("netns", "pids", namespace, check=False).split():
        for sig in (signal.SIGCONT, signal.SIGKILL):  # a stopped process must not linger
            try:
                os.kill(int(pid), sig)
            except (ProcessLookupError, ValueError):
                pass


def clean_stale():
    """Removes namespaces and links of earlier runs that are gone; returns what it removed."""
    removed = []
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.split() else ""
        owner = _OWNED.match(name)
        if owner and not _run_is_alive(int(owner.group(1))):
            _kill_namespace_processes(name)
            ip("netns", "del", name, check=False)
            removed.append(name)
    for line in ip("-o", "link", "show").splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        owner = _OWNED.match(name)
        if owner and not _run_is_alive(int(owner.group(1))):
            ip("link", "del", name, check=False)
            removed.append(name)
    return removed


class Topology:
    """The namespaces and links of one run. `nodes` maps a node name (e.g. 'controller-3000')
    to the last byte of its address."""

    def __init__(self, nodes, run=None):
        self.run = os.getpid() if run is None else run
        self.subnet = _pick_subnet(self.run)
        hosts = list(self.subnet.hosts())
        self.bridge = f"{PREFIX}{self.run}br"
        self.bridge_address = str(hosts[0])
        self.namespace, self.address, self.link = {}, {}, {}
        for i, (name, host) in enumerate(nodes.items()):
            self.namespace[name] = f"{PREFIX}{self.run}-{name}"
            self.address[name] = str(self.subnet.network_address + host)
            self.link[name] = f"{PREFIX}{self.run}h{i}"
        self.created = False

    def create(self):
        self.created = True  # from the first command on, destroy() has something to remove
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.bridge_address}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for name, namespace in self.namespace.items():
            ip("netns", "add", namespace)
            ip("link", "add", self.link[name], "type", "veth", "peer", "name", "veth0", "netns", namespace)
            ip("link", "set", self.link[name], "master", self.bridge, "up")
            ip("-n", namespace, "addr", "add", f"{self.address[name]}/24", "dev", "veth0")
            ip("-n", namespace, "link", "set", "veth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")
        return self

    def isolate(self, name):
        ip("link", "set", self.link[name], "down")

    def heal(self, name):
        ip("link", "set", self.link[name], "up")

    def heal_all(self):
        for name in self.link:
            self.heal(name)

    def exec_prefix(self, name):
        """argv prefix that runs a command inside the node's namespace; `ip netns exec` and
        setpriv both exec, so the pid the caller sees is the node's own (signals reach it), and
        the node dies with the runner even if the runner is killed."""
        return ["ip", "netns", "exec", self.namespace[name], "setpriv", "--pdeathsig", "KILL"]

    def destroy(self):
        if not self.created:
            return
        for namespace in self.namespace.values():
            _kill_namespace_processes(namespace)
            ip("netns", "del", namespace, check=False)  # takes both ends of its veth with it
        for link in self.link.values():
            ip("link", "del", link, check=False)  # normally gone already
        ip("link", "del", self.bridge, check=False)
        self.created = False
