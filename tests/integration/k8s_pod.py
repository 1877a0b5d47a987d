"""Runs one pod's container the way the kubelet would, as a local process.

Usage (inside `unshare --mount --uts --propagation private`, so the mounts stay private):
  k8s_pod.py SPEC.json
SPEC names the pod's hostname, its mounts (host directory -> mountPath), the directory whose
binaries stand in for the image's, the uid/gid from the pod's securityContext, argv and env.
The process then becomes the container's entrypoint (same pid), so signals reach it directly.
"""
import json
import os
import socket
import subprocess
import sys


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    socket.sethostname(spec["hostname"])
    binds = [(m["source"], m["path"]) for m in spec["mounts"]]
    # The image's binary directory last: it may cover the directory `mount` itself lives in.
    binds.append((spec["image_bin"], os.path.dirname(spec["argv"][0])))
    for source, target in binds:
        subprocess.run(["mount", "--bind", source, target], check=True)
    if spec.get("gid") is not None:
        os.setgroups([spec["gid"]])
        os.setgid(spec["gid"])
    if spec.get("uid") is not None:
        os.setuid(spec["uid"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


if __name__ == "__main__":
    main()
