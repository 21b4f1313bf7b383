#!/usr/bin/env python3
"""Generate a Synapse-shaped database for benchmarking `mxauth syn2mas`.

Run with the Synapse virtualenv's python (it needs `synapse`, `bcrypt`,
`psycopg2`, `signedjson`, `yaml`), e.g.

    VENV=$HOME/.cache/mxauth-peers/synapse-venv
    $VENV/bin/python bench/syn2mas/generate_synapse_db.py --sqlite /tmp/synapse.db --force
    $VENV/bin/python bench/syn2mas/generate_synapse_db.py \
        --postgres postgresql://postgres@127.0.0.1:5432/synapse_bench --force \
        --write-config /tmp/synapse-bench

The schema is created by Synapse itself (`synapse._scripts.update_synapse_database
--run-background-updates`, i.e. the same `prepare_database` + background updates a
freshly started Synapse runs), then the auth-related tables are bulk-filled
(COPY on PostgreSQL, executemany in one transaction on SQLite).

See README.md beside this file for what is generated.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from typing import Any, Iterable, Iterator, Sequence

import bcrypt
import yaml

# Synapse's own helpers (so the token format is exactly Synapse's).
from synapse.util.stringutils import base62_encode

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

DEVICE_NAMES = [
    "Element Web",
    "Element X iOS",
    "Element X Android",
    "Element Desktop",
    "FluffyChat",
    None,  # devices created without initial_device_display_name
]
USER_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Safari/537.36",
    "Element X/1.6.4 (iPhone15,2; iOS 17.5; Scale/3.00)",
    "Element X/0.4.13 (Google Pixel 8; Android 14; UP1A; Flavour GooglePlay; MatrixRustSdk 0.2)",
    "Element/1.11.67 (Electron; Linux)",
    "FluffyChat/1.20.0",
]

# Which users get which flag (all on the N regular users @user{i}).
ADMIN_EVERY, ADMIN_AT = 100, 0  # 1 in 100 admin
DEACT_EVERY, DEACT_AT = 200, 7  # 1 in 200 deactivated
LOCKED_EVERY, LOCKED_AT = 500, 13  # 1 in 500 locked
SUSP_EVERY, SUSP_AT = 1000, 17  # 1 in 1000 suspended

APPSERVICE_ID = "bench-bridge"
OIDC_AUTH_PROVIDER = "oidc-test"  # Synapse prefixes idp_id "test" with "oidc-"


# --------------------------------------------------------------------------
# Synapse-compatible primitives
# --------------------------------------------------------------------------


def synapse_hash_password(password: str, pepper: str, rounds: int) -> str:
    """Same as synapse.handlers.auth.AuthHandler.hash()."""
    pw = unicodedata.normalize("NFKC", password)
    to_hash = pw.encode("utf8") + pepper.encode("utf8")
    if len(to_hash) > 72:
        to_hash = to_hash[:72]
    return bcrypt.hashpw(to_hash, bcrypt.gensalt(rounds)).decode("ascii")


def synapse_check_password(password: str, pepper: str, stored_hash: str) -> bool:
    """Same as synapse.handlers.auth.AuthHandler.validate_hash()."""
    pw = unicodedata.normalize("NFKC", password)
    to_hash = (pw.encode("utf8") + pepper.encode("utf8"))[:72]
    return bcrypt.checkpw(to_hash, stored_hash.encode("ascii"))


def unpadded_b64(data: bytes) -> str:
    # == unpaddedbase64.encode_base64(data) (standard alphabet, no padding),
    # which is what Synapse uses for the localpart in syt_/syr_ tokens.
    return base64.b64encode(data).decode("ascii").rstrip("=")


def make_token(prefix: str, b64local: str, rand: str) -> str:
    """syt_/syr_<b64 localpart>_<20 letters>_<base62 crc32, min 6 chars>
    exactly as AuthHandler.generate_access_token / generate_refresh_token."""
    base = f"{prefix}_{b64local}_{rand}"
    crc = base62_encode(binascii.crc32(base.encode("ascii")), minwidth=6)
    return f"{base}_{crc}"


# --------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------


class Target:
    engine: str

    def synapse_db_config(self) -> dict[str, Any]:
        raise NotImplementedError


class SqliteTarget(Target):
    engine = "sqlite"

    def __init__(self, path: str):
        self.path = os.path.abspath(path)

    def describe(self) -> str:
        return f"sqlite:{self.path}"

    def prepare(self, force: bool) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = self.path + suffix
            if os.path.exists(p):
                if not force:
                    sys.exit(f"{p} exists (use --force to overwrite)")
                os.remove(p)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)

    def synapse_db_config(self) -> dict[str, Any]:
        return {"name": "sqlite3", "args": {"database": self.path}}


class PostgresTarget(Target):
    engine = "postgres"

    def __init__(self, uri: str):
        import psycopg2.extensions

        self.uri = uri
        self.dsn = psycopg2.extensions.parse_dsn(uri)
        if "dbname" not in self.dsn:
            sys.exit("--postgres URI must name a database")
        self.dbname = self.dsn["dbname"]

    def describe(self) -> str:
        return f"postgres:{self.uri}"

    def connect(self, dbname: str | None = None):
        import psycopg2

        dsn = dict(self.dsn)
        dsn["dbname"] = dbname or self.dbname
        return psycopg2.connect(**dsn)

    def prepare(self, force: bool) -> None:
        from psycopg2 import sql

        conn = self.connect("postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.dbname,))
            if cur.fetchone():
                if not force:
                    sys.exit(f"database {self.dbname} exists (use --force to drop it)")
                cur.execute(
                    sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(self.dbname))
                )
            cur.execute(
                sql.SQL(
                    "CREATE DATABASE {} ENCODING 'UTF8' LC_COLLATE='C' LC_CTYPE='C' "
                    "TEMPLATE template0"
                ).format(sql.Identifier(self.dbname))
            )
        conn.close()

    def synapse_db_config(self) -> dict[str, Any]:
        args: dict[str, Any] = {"database": self.dbname}
        for k in ("user", "password", "host", "port"):
            if k in self.dsn:
                args[k] = int(self.dsn[k]) if k == "port" else self.dsn[k]
        args.update({"cp_min": 1, "cp_max": 5})
        return {"name": "psycopg2", "args": args}


# --------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------


def write_config(directory: str, target: Target, args: argparse.Namespace) -> str:
    import signedjson.key

    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    key_path = os.path.join(directory, f"{args.server_name}.signing.key")
    if not os.path.exists(key_path):
        key = signedjson.key.generate_signing_key("a_bench")
        with open(key_path, "w") as f:
            signedjson.key.write_signing_keys(f, [key])
    port = args.listen_port
    password_config: dict[str, Any] = {"enabled": True}
    if args.pepper:
        password_config["pepper"] = args.pepper
    cfg: dict[str, Any] = {
        "server_name": args.server_name,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": os.path.join(directory, "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": True,
                "resources": [{"names": ["client", "federation"], "compress": False}],
            }
        ],
        "database": target.synapse_db_config(),
        "media_store_path": os.path.join(directory, "media_store"),
        "signing_key_path": key_path,
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "enable_registration": False,
        "allow_guest_access": False,
        "enable_3pid_changes": True,
        "password_config": password_config,
        "oidc_providers": [
            {
                "idp_id": "test",  # -> auth_provider "oidc-test" in user_external_ids
                "idp_name": "Test OP",
                "issuer": "http://127.0.0.1:3000",
                "client_id": "mas",
                "client_secret": "mas-secret",
                "client_auth_method": "client_secret_basic",
                "scopes": ["openid", "profile", "email"],
                "skip_verification": True,
                "user_mapping_provider": {
                    "config": {
                        "localpart_template": "{{ user.preferred_username }}",
                        "display_name_template": "{{ user.name }}",
                        "email_template": "{{ user.email }}",
                    }
                },
            }
        ],
    }
    path = os.path.join(directory, "homeserver.yaml")
    with open(path, "w") as f:
        f.write("# Generated by bench/syn2mas/generate_synapse_db.py\n")
        yaml.safe_dump(cfg, f, sort_keys=False)
    return path


def create_schema(config_path: str) -> None:
    """Let Synapse create its schema and run its background updates."""
    cmd = [
        sys.executable,
        "-m",
        "synapse._scripts.update_synapse_database",
        "--database-config",
        config_path,
        "--run-background-updates",
    ]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stdout[-5000:])
        sys.exit(f"synapse schema creation failed ({res.returncode})")


# --------------------------------------------------------------------------
# Data generation
# --------------------------------------------------------------------------

USERS_COLS = (
    "name", "password_hash", "creation_ts", "admin", "upgrade_ts", "is_guest",
    "appservice_id", "user_type", "deactivated", "shadow_banned", "approved",
    "locked", "suspended",
)
THREEPID_COLS = ("user_id", "medium", "address", "validated_at", "added_at")
EXTID_COLS = ("auth_provider", "external_id", "user_id")
DEVICE_COLS = ("user_id", "device_id", "display_name", "last_seen", "ip", "user_agent", "hidden")
RT_COLS = ("id", "user_id", "device_id", "token", "next_token_id", "expiry_ts",
           "ultimate_session_expiry_ts")
AT_COLS = ("id", "user_id", "device_id", "token", "valid_until_ms", "puppets_user_id",
           "last_validated", "refresh_token_id", "used")


class Generator:
    def __init__(self, args: argparse.Namespace):
        self.a = args
        self.rng = random.Random(args.seed)
        self.now_ms = int(time.time() * 1000)
        self.now_s = self.now_ms // 1000
        self.hs = args.server_name
        self.hashes: list[str] = []

    def uid(self, localpart: str) -> str:
        return f"@{localpart}:{self.hs}"

    def rand(self, n: int, alphabet: str = LETTERS) -> str:
        return "".join(self.rng.choices(alphabet, k=n))

    def precompute_hashes(self) -> None:
        self.hashes = [
            synapse_hash_password(f"password-{k}", self.a.pepper, self.a.bcrypt_rounds)
            for k in range(10)
        ]

    # ---- users -----------------------------------------------------------

    def users(self) -> Iterator[tuple]:
        n = self.a.users
        span_s = 3 * 365 * 86400
        start = self.now_s - span_s
        step = span_s / max(n, 1)
        for i in range(n):
            yield (
                self.uid(f"user{i}"),
                self.hashes[i % 10],
                int(start + i * step),
                1 if i % ADMIN_EVERY == ADMIN_AT else 0,
                None,
                0,
                None,
                None,
                1 if i % DEACT_EVERY == DEACT_AT else 0,
                False,
                True,
                i % LOCKED_EVERY == LOCKED_AT,
                i % SUSP_EVERY == SUSP_AT,
            )
        # Application-service users: no password, registered by the AS.
        for k in range(self.a.appservice_users):
            yield (self.uid(f"_bench_bridge_{k}"), None, self.now_s - 86400, 0, None, 0,
                   APPSERVICE_ID, None, 0, False, True, False, False)
        # Guests: numeric localparts from user_id_seq, no password.
        for k in range(self.a.guests):
            yield (self.uid(str(k + 1)), None, self.now_s - 3600, 0, None, 1,
                   None, None, 0, False, True, False, False)

    # ---- threepids / external ids -----------------------------------------

    def threepids(self) -> Iterator[tuple]:
        n = self.a.users
        day = 86400 * 1000
        for i in range(min(self.a.emails, n)):
            ts = self.now_ms - (i % 1000) * day
            yield (self.uid(f"user{i}"), "email", f"user{i}@example.org", ts, ts)
        m = min(self.a.msisdns, n)
        if m:
            step = n // m
            for k in range(m):
                i = k * step
                ts = self.now_ms - k * day
                yield (self.uid(f"user{i}"), "msisdn", f"4477009{k:05d}", ts, ts)

    def external_ids(self) -> Iterator[tuple]:
        n = self.a.users
        m = min(self.a.external_ids, n)
        if not m:
            return
        step = n // m
        for k in range(m):
            i = k * step
            yield (OIDC_AUTH_PROVIDER, f"sub-{i}", self.uid(f"user{i}"))

    # ---- devices and tokens ----------------------------------------------

    def devices_and_tokens(self) -> tuple[list[tuple], list[tuple], list[tuple]]:
        """Returns (devices, refresh_tokens, access_tokens) in insertion order
        (refresh tokens before the access tokens / older refresh tokens that
        reference them)."""
        a = self.a
        rng = self.rng
        devices: list[tuple] = []
        rts_current: list[tuple] = []
        rts_consumed: list[tuple] = []
        ats: list[tuple] = []
        next_rt_id = 1
        next_at_id = 1
        dev_index = 0
        refreshable_count = 0
        consumed_every = a.consumed_every

        owners = [(f"user{i}", True) for i in range(a.users)]
        owners += [(str(k + 1), False) for k in range(a.guests)]  # guests get one device

        for localpart, regular in owners:
            user_id = self.uid(localpart)
            b64local = unpadded_b64(localpart.encode("utf-8"))
            ndev = a.devices_per_user if regular else 1
            seen: set[str] = set()
            for _ in range(ndev):
                device_id = self.rand(10, UPPER)
                while device_id in seen:
                    device_id = self.rand(10, UPPER)
                seen.add(device_id)
                last_seen = self.now_ms - rng.randrange(0, 90 * 86400 * 1000)
                devices.append((
                    user_id,
                    device_id,
                    DEVICE_NAMES[dev_index % len(DEVICE_NAMES)],
                    last_seen,
                    f"10.{(dev_index >> 16) & 255}.{(dev_index >> 8) & 255}.{dev_index & 255}",
                    USER_AGENTS[dev_index % len(USER_AGENTS)],
                    False,
                ))
                created = last_seen - rng.randrange(0, 30 * 86400 * 1000)

                refreshable = dev_index % 2 == 0
                rt_id = None
                if refreshable:
                    refreshable_count += 1
                    # Optionally an older, consumed refresh token (next_token_id ->
                    # the current one) whose access token still exists: the state
                    # Synapse leaves between a refresh and the first use of the
                    # new access token.
                    old_rt_id = None
                    if consumed_every and refreshable_count % consumed_every == 0:
                        old_rt_id = next_rt_id
                        next_rt_id += 1
                    rt_id = next_rt_id
                    next_rt_id += 1
                    rts_current.append((
                        rt_id, user_id, device_id,
                        make_token("syr", b64local, self.rand(20)),
                        None,
                        self.now_ms + 30 * 86400 * 1000 if refreshable_count % 10 == 0 else None,
                        self.now_ms + 365 * 86400 * 1000 if refreshable_count % 20 == 0 else None,
                    ))
                    if old_rt_id is not None:
                        rts_consumed.append((
                            old_rt_id, user_id, device_id,
                            make_token("syr", b64local, self.rand(20)),
                            rt_id, None, None,
                        ))
                        ats.append((
                            next_at_id, user_id, device_id,
                            make_token("syt", b64local, self.rand(20)),
                            created - 60 * 1000,  # expired
                            None, created - 5 * 60 * 1000, old_rt_id, True,
                        ))
                        next_at_id += 1
                    # Refreshable access tokens always expire (refreshable_access_token_lifetime);
                    # 1 in 10 already expired.
                    if refreshable_count % 10 == 0:
                        valid_until = self.now_ms - 3600 * 1000
                    else:
                        valid_until = self.now_ms + 5 * 60 * 1000
                else:
                    # Non-refreshable: no expiry, except 1 in 20 (e.g. admin
                    # "login as user" tokens created with valid_until_ms).
                    valid_until = (
                        self.now_ms + 30 * 86400 * 1000 if (dev_index // 2) % 20 == 0 else None
                    )
                ats.append((
                    next_at_id, user_id, device_id,
                    make_token("syt", b64local, self.rand(20)),
                    valid_until, None, created, rt_id, False,
                ))
                next_at_id += 1
                dev_index += 1

        return devices, rts_current + rts_consumed, ats


# --------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------


def _pg_field(v: Any) -> str:
    if v is None:
        return "\\N"
    if v is True:
        return "t"
    if v is False:
        return "f"
    s = str(v)
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


def pg_copy(cur, table: str, cols: Sequence[str], rows: Iterable[tuple], chunk: int = 100_000) -> int:
    stmt = f"COPY {table} ({', '.join(cols)}) FROM STDIN"
    buf = io.StringIO()
    n = pending = 0
    for row in rows:
        buf.write("\t".join(map(_pg_field, row)))
        buf.write("\n")
        n += 1
        pending += 1
        if pending >= chunk:
            buf.seek(0)
            cur.copy_expert(stmt, buf)
            buf = io.StringIO()
            pending = 0
    if pending:
        buf.seek(0)
        cur.copy_expert(stmt, buf)
    return n


def sqlite_insert(conn, table: str, cols: Sequence[str], rows: Iterable[tuple]) -> int:
    stmt = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    before = conn.total_changes
    conn.executemany(stmt, rows)
    return conn.total_changes - before


TABLES = ("users", "user_threepids", "user_external_ids", "devices", "refresh_tokens", "access_tokens")


def load(target: Target, gen: Generator) -> dict[str, float]:
    timings: dict[str, float] = {}

    def timed(name: str, fn):
        t = time.monotonic()
        fn()
        timings[name] = time.monotonic() - t

    devs: list = []
    rts: list = []
    ats: list = []

    def build():
        nonlocal devs, rts, ats
        devs, rts, ats = gen.devices_and_tokens()

    timed("generate devices/tokens", build)

    if isinstance(target, PostgresTarget):
        conn = target.connect()
        with conn, conn.cursor() as cur:
            timed("load users", lambda: pg_copy(cur, "users", USERS_COLS, gen.users()))
            timed("load user_threepids", lambda: pg_copy(cur, "user_threepids", THREEPID_COLS, gen.threepids()))
            timed("load user_external_ids", lambda: pg_copy(cur, "user_external_ids", EXTID_COLS, gen.external_ids()))
            timed("load devices", lambda: pg_copy(cur, "devices", DEVICE_COLS, devs))
            timed("load refresh_tokens", lambda: pg_copy(cur, "refresh_tokens", RT_COLS, rts))
            timed("load access_tokens", lambda: pg_copy(cur, "access_tokens", AT_COLS, ats))
            # Synapse allocates guest localparts from user_id_seq; move it past
            # the numeric guest ids we created. (access_tokens / refresh_tokens
            # ids come from IdGenerator = SELECT MAX(id) at startup: nothing to do.)
            if gen.a.guests:
                cur.execute("SELECT setval('user_id_seq', %s)", (gen.a.guests,))
        conn.autocommit = True
        with conn.cursor() as cur:
            timed("analyze", lambda: cur.execute("ANALYZE " + ", ".join(TABLES)))
        conn.close()
    else:
        import sqlite3

        conn = sqlite3.connect(target.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA foreign_keys = ON")  # as Synapse runs it
        conn.execute("PRAGMA cache_size = -200000")
        conn.execute("BEGIN")
        timed("load users", lambda: sqlite_insert(conn, "users", USERS_COLS, gen.users()))
        timed("load user_threepids", lambda: sqlite_insert(conn, "user_threepids", THREEPID_COLS, gen.threepids()))
        timed("load user_external_ids", lambda: sqlite_insert(conn, "user_external_ids", EXTID_COLS, gen.external_ids()))
        timed("load devices", lambda: sqlite_insert(conn, "devices", DEVICE_COLS, devs))
        timed("load refresh_tokens", lambda: sqlite_insert(conn, "refresh_tokens", RT_COLS, rts))
        timed("load access_tokens", lambda: sqlite_insert(conn, "access_tokens", AT_COLS, ats))
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")  # what Synapse leaves the file in
        conn.close()
    return timings


# --------------------------------------------------------------------------
# Reporting / self-check
# --------------------------------------------------------------------------


COUNT_QUERIES = [
    ("users", "SELECT COUNT(*) FROM users"),
    ("  admin", "SELECT COUNT(*) FROM users WHERE admin = 1"),
    ("  deactivated", "SELECT COUNT(*) FROM users WHERE deactivated = 1"),
    ("  locked", "SELECT COUNT(*) FROM users WHERE locked"),
    ("  suspended", "SELECT COUNT(*) FROM users WHERE suspended"),
    ("  appservice", "SELECT COUNT(*) FROM users WHERE appservice_id IS NOT NULL"),
    ("  guest", "SELECT COUNT(*) FROM users WHERE is_guest = 1"),
    ("  with password", "SELECT COUNT(*) FROM users WHERE password_hash IS NOT NULL"),
    ("user_threepids", "SELECT COUNT(*) FROM user_threepids"),
    ("  email", "SELECT COUNT(*) FROM user_threepids WHERE medium = 'email'"),
    ("  msisdn", "SELECT COUNT(*) FROM user_threepids WHERE medium = 'msisdn'"),
    ("user_external_ids", "SELECT COUNT(*) FROM user_external_ids"),
    ("devices", "SELECT COUNT(*) FROM devices"),
    ("access_tokens", "SELECT COUNT(*) FROM access_tokens"),
    ("  with refresh_token_id", "SELECT COUNT(*) FROM access_tokens WHERE refresh_token_id IS NOT NULL"),
    ("  with valid_until_ms", "SELECT COUNT(*) FROM access_tokens WHERE valid_until_ms IS NOT NULL"),
    ("refresh_tokens", "SELECT COUNT(*) FROM refresh_tokens"),
    ("  consumed (next_token_id set)", "SELECT COUNT(*) FROM refresh_tokens WHERE next_token_id IS NOT NULL"),
]


def query_all(target: Target, queries: list[tuple[str, str]]) -> list[tuple[str, Any]]:
    if isinstance(target, PostgresTarget):
        conn = target.connect()
        out = []
        with conn.cursor() as cur:
            for label, q in queries:
                cur.execute(q)
                out.append((label, cur.fetchone()))
        conn.close()
        return out
    import sqlite3

    conn = sqlite3.connect(target.path)
    out = [(label, conn.execute(q).fetchone()) for label, q in queries]
    conn.close()
    return out


def self_check(target: Target, gen: Generator) -> None:
    """Check one password hash and token CRCs with Synapse's own code."""
    from synapse.handlers.auth import AuthHandler

    i = 3
    rows = dict(query_all(target, [
        ("hash", f"SELECT password_hash FROM users WHERE name = '{gen.uid(f'user{i}')}'"),
        ("at", "SELECT token FROM access_tokens ORDER BY id LIMIT 1"),
        ("rt", "SELECT token FROM refresh_tokens ORDER BY id LIMIT 1"),
    ]))
    stored = rows["hash"][0]
    assert synapse_check_password(f"password-{i % 10}", gen.a.pepper, stored), "bcrypt check failed"
    assert not synapse_check_password("wrong", gen.a.pepper, stored)
    # Access tokens: Synapse has no CRC checker for syt_ tokens, so recompute
    # with its formula; refresh tokens: AuthHandler._verify_refresh_token
    # (a pure function of the token).
    at = rows["at"][0]
    prefix, b64local, rnd, crc = at.split("_")
    assert prefix == "syt" and len(rnd) == 20
    assert crc == base62_encode(binascii.crc32(f"syt_{b64local}_{rnd}".encode("ascii")), minwidth=6)
    rt = rows["rt"][0]
    assert AuthHandler._verify_refresh_token(None, rt), "refresh token CRC check failed"  # type: ignore[arg-type]
    print(f"self-check ok: bcrypt(user{i}, password-{i % 10}), access token {at}, refresh token {rt}")


# --------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    tgt = p.add_mutually_exclusive_group(required=True)
    tgt.add_argument("--sqlite", metavar="PATH", help="SQLite database file to create")
    tgt.add_argument("--postgres", metavar="URI",
                     help="e.g. postgresql://postgres@127.0.0.1:5432/synapse_bench (database is created)")
    p.add_argument("--force", action="store_true", help="overwrite/drop an existing database")
    p.add_argument("--write-config", metavar="DIR",
                   help="write DIR/homeserver.yaml (+ signing key) pointing at the database")
    p.add_argument("--server-name", default="bench.example")
    p.add_argument("--users", type=int, default=100_000)
    p.add_argument("--devices-per-user", type=int, default=2)
    p.add_argument("--emails", type=int, default=50_000, help="email threepids (for users 0..N-1)")
    p.add_argument("--msisdns", type=int, default=100)
    p.add_argument("--external-ids", type=int, default=1000, help="user_external_ids rows (oidc-test)")
    p.add_argument("--appservice-users", type=int, default=10, help="extra users with appservice_id set")
    p.add_argument("--guests", type=int, default=10, help="extra guest users (numeric localparts, 1 device each)")
    p.add_argument("--consumed-every", type=int, default=100,
                   help="every Nth refreshable device also gets an older consumed refresh token "
                        "+ its access token (0 = never)")
    p.add_argument("--pepper", default="", help="password_config.pepper (default: none)")
    p.add_argument("--bcrypt-rounds", type=int, default=12, help="Synapse's default is 12")
    p.add_argument("--listen-port", type=int, default=18090, help="listener port in the written config")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()

    target: Target = SqliteTarget(args.sqlite) if args.sqlite else PostgresTarget(args.postgres)
    t0 = time.monotonic()
    steps: dict[str, float] = {}

    t = time.monotonic()
    target.prepare(args.force)
    tmpdir = None
    if args.write_config:
        config_dir = args.write_config
    else:
        tmpdir = config_dir = tempfile.mkdtemp(prefix="synapse-bench-cfg-")
    config_path = write_config(config_dir, target, args)
    steps["create db + config"] = time.monotonic() - t

    t = time.monotonic()
    create_schema(config_path)
    steps["synapse schema (prepare_database + background updates)"] = time.monotonic() - t
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)

    gen = Generator(args)
    t = time.monotonic()
    gen.precompute_hashes()
    steps[f"bcrypt x10 (rounds={args.bcrypt_rounds})"] = time.monotonic() - t

    steps.update(load(target, gen))
    total = time.monotonic() - t0

    print(f"target: {target.describe()}")
    if args.write_config:
        print(f"config: {os.path.abspath(config_path)}")
    print("timings:")
    for k, v in steps.items():
        print(f"  {k:<58} {v:7.2f}s")
    print(f"  {'TOTAL':<58} {total:7.2f}s")
    print("rows:")
    for label, (count,) in query_all(target, COUNT_QUERIES):
        print(f"  {label:<32} {count:>9}")
    self_check(target, gen)


if __name__ == "__main__":
    main()
