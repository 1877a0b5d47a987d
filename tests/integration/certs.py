"""Test certificates made with the openssl command: CAs, server and client certificates (EC
P-256), expired ones too. Each certificate is written as NAME.pem (certificate), NAME.key (key)
and NAME.keystore.pem (key and certificate chain: Kafka's PEM keystore)."""
import os
import subprocess


def _openssl(*args, cwd):
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {done.stderr}")


class Authority:
    """A CA in `directory`; `cert` is its certificate's path (a PEM truststore)."""

    def __init__(self, directory, name):
        self.dir = directory
        self.name = name
        self.cert = os.path.join(directory, f"{name}.pem")
        self.key = os.path.join(directory, f"{name}.key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", self.key, "-out", self.cert, "-days", "30", "-subj", f"/O=sluice-tests/CN={name}",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 cwd=directory)
        self._db = os.path.join(directory, f"{name}-db")
        os.makedirs(os.path.join(self._db, "new"), exist_ok=True)
        open(os.path.join(self._db, "index.txt"), "w").close()
        with open(os.path.join(self._db, "serial"), "w") as f:
            f.write("1000\n")
        self._config = os.path.join(self._db, "ca.cnf")
        with open(self._config, "w") as f:
            f.write(f"""[ca]
default_ca = this
[this]
database = {self._db}/index.txt
new_certs_dir = {self._db}/new
serial = {self._db}/serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[anything]
commonName = supplied
organizationName = optional
organizationalUnitName = optional
""")

    def issue(self, name, subject, hosts=(), expired=False):
        """Signs a new key's certificate for `subject` (e.g. "/O=acme/CN=alice"); `hosts` become
        subjectAltNames (addresses as IP, names as DNS). Returns the paths as a dict."""
        key = os.path.join(self.dir, f"{name}.key")
        csr = os.path.join(self.dir, f"{name}.csr")
        cert = os.path.join(self.dir, f"{name}.pem")
        request = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                   "-keyout", key, "-out", csr, "-subj", subject]
        if hosts:
            names = ",".join(f"IP:{h}" if h.replace(".", "").isdigit() else f"DNS:{h}" for h in hosts)
            request += ["-addext", f"subjectAltName={names}"]
        _openssl(*request, cwd=self.dir)
        dates = ["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"] if expired else ["-days", "30"]
        _openssl("ca", "-batch", "-notext", "-preserveDN", "-config", self._config, "-cert", self.cert, "-keyfile", self.key,
                 "-in", csr, "-out", cert, *dates, cwd=self.dir)
        keystore = os.path.join(self.dir, f"{name}.keystore.pem")
        with open(keystore, "w") as out, open(key) as k, open(cert) as c:
            out.write(k.read() + c.read())
        return {"cert": cert, "key": key, "keystore": keystore}
