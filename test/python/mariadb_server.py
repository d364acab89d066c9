"""Real MariaDB servers for the tests: each on its own temporary data directory, port and socket.

A server is started with `--no-defaults` (no /etc/mysql configuration, no system service), listens on 127.0.0.1
only, and is always shut down when its test ends, failed or not. Several may run at once (a source and a target).
On a machine without MariaDB, scripts/mariadb-server.sh installs Debian's mariadb-server package first.

    from mariadb_server import mariadb_servers

    def test_x(mariadb_servers):
        source = mariadb_servers.start("source", options=["--log-bin"])
        with source.connect() as connection: ...
"""

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pymysql
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "mariadb-server.sh"
SBIN_DIRS = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30


def _program(name):
    found = shutil.which(name) or next((f"{d}/{name}" for d in SBIN_DIRS if Path(f"{d}/{name}").exists()), None)
    if found is None:
        raise RuntimeError(f"{name} not found after {INSTALL_SCRIPT.name}; is mariadb-server installed?")
    return found


def ensure_installed():
    """Installs MariaDB with the project's script when `mariadbd` is missing (a fresh machine)."""
    if shutil.which("mariadbd") or Path("/usr/sbin/mariadbd").exists():
        return
    subprocess.run(["bash", str(INSTALL_SCRIPT)], check=True)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MariaDBServer:
    """One mariadbd process on its own data directory; root has no password and is reached over the socket."""

    def __init__(self, name, base_dir, options=()):
        self.name = name
        self.dir = Path(base_dir) / name
        self.datadir = self.dir / "data"
        self.socket = self.dir / "sock"
        self.port = _free_port()
        self.options = list(options)
        self.process = None

    # ----- life cycle -----
    def initialize(self):
        self.datadir.mkdir(parents=True)
        result = subprocess.run(
            [_program("mariadb-install-db"), "--no-defaults", f"--datadir={self.datadir}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=False, capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"mariadb-install-db {self.name} exited {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")

    def start(self):
        command = [
            _program("mariadbd"), "--no-defaults", f"--datadir={self.datadir}", "--user=root",
            f"--port={self.port}", f"--socket={self.socket}", "--bind-address=127.0.0.1",
            f"--pid-file={self.dir / 'mariadbd.pid'}", f"--log-error={self.dir / 'error.log'}",
            "--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--skip-log-bin", *self.options,
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_ready()

    def restart(self, options):
        """Stops and starts again with other options (for settings a running server cannot change, like log_bin)."""
        self.stop()
        self.options = list(options)
        self.start()

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        try:
            # The server's own clean shutdown, as SQL: `mariadb-admin shutdown` does the same, then checks once a
            # second whether the server is gone, which cost a second per server.
            self.execute("SHUTDOWN")
        except pymysql.err.Error:
            subprocess.run([_program("mariadb-admin"), f"--socket={self.socket}", "-uroot", "shutdown"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=STOP_TIMEOUT_SECONDS,
                           check=False)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _wait_until_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd {self.name} exited {self.process.returncode}:\n{self.error_log()}")
            try:
                self.connect().close()
                return
            except pymysql.err.OperationalError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"mariadbd {self.name} not ready after {START_TIMEOUT_SECONDS} s:\n{self.error_log()}")

    def error_log(self):
        path = self.dir / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # ----- use -----
    def connect(self, user="root", password="", database=None, over_tcp=False):
        if over_tcp:
            return pymysql.connect(host="127.0.0.1", port=self.port, user=user, password=password,
                                   database=database, autocommit=True)
        # Over the socket without TLS: PyMySQL otherwise tries it on every connection, building an SSL context with
        # the system's CA certificates each time (the code under test connects with its own TLS settings).
        return pymysql.connect(unix_socket=str(self.socket), user=user, password=password,
                               database=database, autocommit=True, ssl_disabled=True)

    def execute(self, *statements):
        """Runs statements as root; returns the rows of the last one."""
        with self.connect() as connection, connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            return cursor.fetchall()


class MariaDBServers:
    """Starts servers on demand under one temporary directory; stop_all() shuts every one down."""

    def __init__(self, base_dir):
        self.base_dir = base_dir
        self.running = []

    def start(self, name, options=()):
        server = MariaDBServer(name, self.base_dir, options)
        self.running.append(server)  # before starting, so a half-started server is stopped too
        server.initialize()
        server.start()
        return server

    def stop_all(self):
        errors = []
        for server in reversed(self.running):
            try:
                server.stop()
            except Exception as error:  # noqa: BLE001 - stop the others, then report
                errors.append(f"{server.name}: {error}")
        self.running.clear()
        if errors:
            raise RuntimeError("could not stop: " + "; ".join(errors))


@contextmanager
def running_servers():
    ensure_installed()
    base_dir = tempfile.mkdtemp(prefix="mariadb-test-")
    servers = MariaDBServers(base_dir)
    try:
        yield servers
    finally:
        try:
            servers.stop_all()
        finally:
            shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def mariadb_servers():
    """Servers that live for one test module (starting one takes a few seconds); all stopped at its end."""
    with running_servers() as servers:
        yield servers
