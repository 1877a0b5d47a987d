"""Renders deploy/k8s overlays with kubectl and checks them offline.

Schema: every object is checked against the typed models of Debian's python3-kubernetes, which
are generated from the Kubernetes OpenAPI schema: unknown fields, wrong types and missing
required fields are errors. References the API server or the controllers would resolve
(selectors, services, named ports, volumes, config maps) are checked as well.

Pods: `pod_spec` turns a StatefulSet and an ordinal into what the kubelet would run: the
container's argv and environment (downward API fields, $(VAR) expansion in Kubernetes' order)
and its volume mounts.
"""

import os
import re
import subprocess

import kubernetes.client
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OVERLAYS = os.path.join(REPO, "deploy", "k8s", "overlays")

_PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def render(overlay):
    """The overlay's objects, as `kubectl kustomize` renders them."""
    out = subprocess.run(["kubectl", "kustomize", os.path.join(OVERLAYS, overlay)], check=True,
                         capture_output=True, text=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def model_name(obj):
    version = obj["apiVersion"].split("/")[-1]
    return version[0].upper() + version[1:] + obj["kind"]


def _check_value(value, type_name, path, errors):
    if value is None:
        return
    if type_name.startswith("list["):
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list")
            return
        for i, item in enumerate(value):
            _check_value(item, type_name[5:-1], f"{path}[{i}]", errors)
    elif type_name.startswith("dict("):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a map")
            return
        inner = type_name[5:-1].split(", ", 1)[1]
        for key, item in value.items():
            _check_value(item, inner, f"{path}.{key}", errors)
    elif type_name == "object":
        pass  # IntOrString, quantities and free-form fields
    elif type_name == "datetime":
        if not isinstance(value, str):
            errors.append(f"{path}: expected a timestamp")
    elif type_name in _PRIMITIVES:
        expected = _PRIMITIVES[type_name]
        if not isinstance(value, expected) or (type_name != "bool" and isinstance(value, bool)):
            errors.append(f"{path}: expected {type_name}, got {type(value).__name__} {value!r}")
    else:
        _check_model(value, type_name, path, errors)


def _check_model(value, type_name, path, errors):
    cls = getattr(kubernetes.client, type_name, None)
    if cls is None:
        errors.append(f"{path}: no schema for {type_name}")
        return
    if not isinstance(value, dict):
        errors.append(f"{path}: expected an object ({type_name})")
        return
    by_json = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    for key, item in value.items():
        attr = by_json.get(key)
        if attr is None:
            errors.append(f"{path}.{key}: unknown field of {type_name}")
            continue
        _check_value(item, cls.openapi_types[attr], f"{path}.{key}", errors)


def schema_errors(obj):
    """Field-level errors of one object against its API schema; empty when valid."""
    errors = []
    name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    _check_model(obj, model_name(obj), name, errors)
    if errors:
        return errors
    # The generated constructors refuse missing required fields.
    client = kubernetes.client.ApiClient()
    try:
        client._ApiClient__deserialize(obj, model_name(obj))
    except ValueError as error:
        errors.append(f"{name}: {error}")
    return errors


def _matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def reference_errors(objects):
    """What the API server or a controller would refuse or never resolve."""
    errors = []
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    services = by_kind.get("Service", {})
    config_maps = by_kind.get("ConfigMap", {})
    sets = by_kind.get("StatefulSet", {})
    for name, sts in sets.items():
        spec = sts["spec"]
        template = spec["template"]
        labels = template["metadata"]["labels"]
        if not _matches(spec["selector"]["matchLabels"], labels):
            errors.append(f"StatefulSet/{name}: selector does not match the pod template's labels")
        service = services.get(spec["serviceName"])
        if service is None or service["spec"].get("clusterIP") != "None":
            errors.append(f"StatefulSet/{name}: serviceName {spec['serviceName']} is not a headless Service")
        volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
        volumes.update({c["metadata"]["name"]: c for c in spec.get("volumeClaimTemplates", [])})
        for volume in template["spec"].get("volumes", []):
            if "configMap" in volume and volume["configMap"]["name"] not in config_maps:
                errors.append(f"StatefulSet/{name}: volume {volume['name']} names a missing ConfigMap")
        for container in template["spec"]["containers"]:
            ports = {p.get("name") for p in container.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                port = container.get(probe, {}).get("httpGet", {}).get("port")
                if isinstance(port, str) and port not in ports:
                    errors.append(f"StatefulSet/{name}: {probe} uses unknown port {port}")
            for mount in container.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    errors.append(f"StatefulSet/{name}: mount {mount['name']} has no volume")
    for name, service in services.items():
        selector = service["spec"].get("selector", {})
        if not any(_matches(selector, s["spec"]["template"]["metadata"]["labels"]) for s in sets.values()):
            errors.append(f"Service/{name}: selects no pods")
    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        selector = pdb["spec"]["selector"]["matchLabels"]
        if not any(_matches(selector, s["spec"]["template"]["metadata"]["labels"]) for s in sets.values()):
            errors.append(f"PodDisruptionBudget/{name}: selects no pods")
    return errors


DOCKERFILE = os.path.join(REPO, "deploy", "docker", "Dockerfile")


def image_env(dockerfile=DOCKERFILE):
    """The environment the image's runtime stage (its last FROM) sets with ENV."""
    with open(dockerfile) as f:
        text = f.read().replace("\\\n", " ")
    env = {}
    for line in text.splitlines():
        words = line.strip().split(None, 1)
        if not words:
            continue
        if words[0].upper() == "FROM":
            env = {}
        elif words[0].upper() == "ENV" and len(words) == 2:
            if "=" not in words[1].split()[0]:  # the legacy "ENV key value" form
                key, value = words[1].split(None, 1)
                env[key] = value.strip()
            else:
                for pair in words[1].split():
                    key, value = pair.split("=", 1)
                    env[key] = value.strip('"')
    return env


_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def expand(text, env):
    """Kubernetes' $(VAR) expansion: known names are replaced, $$ is a literal $."""
    def replace(match):
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env[name] if name in env else match.group(0)
    return _VAR.sub(replace, text)


def pod_labels(sts, ordinal, zone):
    """The labels the StatefulSet controller and the scheduler put on pod `ordinal`."""
    labels = dict(sts["spec"]["template"]["metadata"].get("labels", {}))
    labels["statefulset.kubernetes.io/pod-name"] = f"{sts['metadata']['name']}-{ordinal}"
    labels["apps.kubernetes.io/pod-index"] = str(ordinal)
    if zone:
        labels["topology.kubernetes.io/zone"] = zone
    return labels


def _field(path, pod):
    match = re.fullmatch(r"metadata\.labels\['([^']+)'\]", path)
    if match:
        return pod["labels"].get(match.group(1), "")
    fields = {"metadata.name": pod["name"], "metadata.namespace": pod["namespace"], "status.podIP": pod["ip"]}
    if path not in fields:
        raise ValueError(f"downward API field {path} is not modelled")
    return fields[path]


def pod_spec(sts, ordinal, ip, zone, config_maps, image):
    """argv, env and mounts of the first container of pod `ordinal` of StatefulSet `sts`, run
    from an image whose ENV is `image`."""
    name = f"{sts['metadata']['name']}-{ordinal}"
    pod = {"name": name, "namespace": sts["metadata"]["namespace"], "ip": ip,
           "labels": pod_labels(sts, ordinal, zone)}
    template = sts["spec"]["template"]["spec"]
    container = template["containers"][0]
    env = dict(image)  # the container's env overrides the image's ENV
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = expand(var["value"], env)
        elif "fieldRef" in var["valueFrom"]:
            env[var["name"]] = _field(var["valueFrom"]["fieldRef"]["fieldPath"], pod)
        elif "configMapKeyRef" in var["valueFrom"]:
            ref = var["valueFrom"]["configMapKeyRef"]
            env[var["name"]] = config_maps[ref["name"]]["data"][ref["key"]]
        else:
            raise ValueError(f"{name}: env {var['name']} source is not modelled")
    argv = [expand(a, env) for a in container.get("command", []) + container.get("args", [])]
    volumes = {v["name"]: v for v in template.get("volumes", [])}
    mounts = []
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"])
        if volume is None:  # a volumeClaimTemplate: the pod's own persistent volume
            mounts.append({"path": mount["mountPath"], "claim": f"{mount['name']}-{name}"})
        elif "configMap" in volume:
            mounts.append({"path": mount["mountPath"], "files": config_maps[volume["configMap"]["name"]]["data"]})
        else:
            raise ValueError(f"{name}: volume {mount['name']} kind is not modelled")
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    security = template.get("securityContext", {})
    return {"name": name, "hostname": name, "argv": argv, "env": env, "mounts": mounts, "ports": ports,
            "readiness": container.get("readinessProbe"), "uid": security.get("runAsUser"),
            "gid": security.get("runAsGroup"), "fs_group": security.get("fsGroup")}
