"""A real, throwaway PostgreSQL server for the test session (the ``postgres`` fixture).

``initdb`` makes a cluster in a temporary folder, ``pg_ctl`` starts it on a free local port with
its socket in that folder, and a database and a user with a password are created. Connections
over TCP (127.0.0.1) must give that password (scram-sha-256), so a wrong one is refused as a real
server refuses it; the superuser, for setting up, comes in over the socket only. The server is
stopped and its folder removed at the end of the session, also when a test fails.
:func:`sample_tables` and :func:`write_postgres` store the sample in it with SQL types.

PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` account (Debian's
package makes it; else ``nobody``) through ``runuser``. Without PostgreSQL's programs or the
ADBC driver the tests skip, saying why; with the CI variable set they fail instead, so that a
green CI run cannot hide a database reader that was never exercised.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

SUPERUSER, USER, DATABASE = "postgres", "gapkit", "shop"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def find_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and psql: on PATH, pg_config's, or Debian's newest."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).parent] if on_path else []
    if shutil.which("pg_config"):
        done = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(Path(done.stdout.strip()))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                      if Path(p).parent.name.isdigit() else 0, reverse=True)
    candidates += [Path(p) for p in versions] + [Path("/usr/local/pgsql/bin")]
    return next((c for c in candidates if all((c / tool).exists() for tool in ("initdb", "pg_ctl", "psql"))), None)


def why_postgres_cannot_run() -> str | None:
    import importlib.util

    if importlib.util.find_spec("adbc_driver_postgresql") is None:
        return "adbc-driver-postgresql is not installed (pip install -e '.[test]')"
    if find_binaries() is None:
        return ("no PostgreSQL server programs (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin "
                "(e.g. apt-get install postgresql)")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser, so the server cannot run as another account"
    return None


@dataclass(frozen=True)
class Server:
    """A running server: where it listens, and the user gapkit connects as."""

    host: str
    port: int
    user: str
    password: str
    database: str
    socket_dir: Path
    bin: Path
    run_as: list[str]

    def url(self, password: bool = True, **query: str) -> str:
        secret = f":{quote(self.password, safe='')}" if password else ""
        params = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        base = f"postgresql://{self.user}{secret}@{self.host}:{self.port}/{self.database}"
        return f"{base}?{params}" if params else base

    def admin(self, sql: str) -> str:
        """Run ``sql`` as the superuser, in the test database (e.g. to revoke a privilege)."""
        done = subprocess.run(
            [*self.run_as, str(self.bin / "psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", SUPERUSER,
             "-d", self.database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout


def _account() -> tuple[list[str], str | None]:
    """The command prefix that runs a program as the server's account, and that account (None: us)."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], name
    raise RuntimeError("running as root, and neither a postgres nor a nobody account exists to run the server as")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")


def start(folder: Path) -> Server:
    """Make a cluster in ``folder`` (which the server's account must own) and start it."""
    binaries = find_binaries()
    run_as, account = _account()
    if account is not None:
        shutil.chown(folder, user=account)
    data = folder / "data"
    _run([*run_as, str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "-E", "UTF8", "--no-locale",
          "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"], "initdb")
    for attempt in range(3):  # the free port may be taken between looking and listening
        port = _free_port()
        options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                   f"-c full_page_writes=off -c max_connections=20 -c shared_buffers=16MB")
        done = subprocess.run([*run_as, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
                               "-o", options, "-w", "-t", "30", "start"], capture_output=True, text=True)
        if done.returncode == 0:
            break
        if attempt == 2:
            log = folder / "server.log"
            log = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}\n{log}")
    password = f"pw!{secrets.token_hex(6)}@:/"  # characters a URL must encode, so encoding is exercised
    server = Server("127.0.0.1", port, USER, password, "postgres", folder, binaries, run_as)
    server.admin(f"CREATE ROLE {USER} LOGIN PASSWORD '{password}'")
    server.admin(f"CREATE DATABASE {DATABASE} OWNER {USER}")
    return Server("127.0.0.1", port, USER, password, DATABASE, folder, binaries, run_as)


def stop(server: Server) -> None:
    subprocess.run([*server.run_as, str(server.bin / "pg_ctl"), "-D", str(server.socket_dir / "data"), "-m",
                    "immediate", "-w", "stop"], capture_output=True, text=True)
    shutil.rmtree(server.socket_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the session; skips (fails under CI) when it cannot run here."""
    reason = why_postgres_cannot_run()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}", pytrace=False)
        pytest.skip(reason)
    # not pytest's tmp_path: its folders are private to the user running the tests, and the
    # server's account must reach its own folder
    folder = Path(tempfile.mkdtemp(prefix="gapkit-pg-"))
    try:
        server = start(folder)
    except BaseException:
        stop(Server("", 0, "", "", "", folder, find_binaries(), _account()[0]))
        raise
    try:
        yield server
    finally:
        stop(server)


def typed(frame, table: str):
    """A CSV table as a database holds it (a pyarrow Table): each contract column in its SQL type,
    unless a value would not fit (orders' "not-a-date" keeps ordered_at a text column, as in a
    real export)."""
    import pyarrow as pa

    from gapkit.contract import _parsing
    from gapkit.contract.schema import ID, TABLES, TEXT

    out = frame.copy()
    for column in frame.columns:
        spec = TABLES[table].column(column)
        if spec is None or spec.kind in (ID, TEXT):
            continue
        given, parsed = _parsing.read(frame[column], spec.kind)
        if not (given & parsed.isna()).any():
            out[column] = parsed
    return pa.Table.from_pandas(out, preserve_index=False)


def sample_tables(folder: Path = SAMPLE) -> dict:
    """The tables of a folder of CSV files (the sample by default), typed as a database holds them."""
    from gapkit.contract._reading import read_text_csv

    return {file.stem: typed(read_text_csv(file).frame, file.stem) for file in sorted(folder.glob("*.csv"))}


def write_postgres(server: Server, schema: str, tables: dict) -> str:
    """The tables (pyarrow) in a fresh schema of the server, through ADBC's bulk ingest (COPY); its
    URL (with the password)."""
    import adbc_driver_postgresql.dbapi as postgresql

    with postgresql.connect(server.url()) as con, con.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        cursor.execute(f'CREATE SCHEMA "{schema}"')
        for name, table in tables.items():
            cursor.adbc_ingest(name, table, mode="create", db_schema_name=schema)
        con.commit()
    return server.url(schema=schema)
