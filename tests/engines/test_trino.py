"""playground.engines.trino: quoting offline; queries against the stack's Trino when it is up."""

import uuid

import pytest

from playground.config.settings import ServiceUnavailable
from playground.engines import trino


def test_quote_and_qualified() -> None:
    assert trino.quote("payment") == '"payment"'
    assert trino.quote('we"ird') == '"we""ird"'
    assert trino.qualified("iceberg", "pagila_raw", "payment") == (
        '"iceberg"."pagila_raw"."payment"'
    )
    for bad in ("", "a\x00b"):
        with pytest.raises(ValueError, match="not a usable identifier"):
            trino.quote(bad)


def test_unreachable_trino_names_the_fix(stack_settings) -> None:
    with pytest.raises(ServiceUnavailable, match=r"Trino at http://localhost:\d+/v1/info") as err:
        trino.execute("select 1", settings=stack_settings)
    assert "docker compose up --wait" in str(err.value)


@pytest.mark.stack
def test_trino_crud_on_iceberg(trino_stack) -> None:
    settings = trino_stack
    schema = f"test_{uuid.uuid4().hex[:8]}"
    table = trino.qualified("iceberg", schema, "things")
    trino.execute(f"create schema {trino.qualified('iceberg', schema)}", settings=settings)
    try:
        trino.execute(f"create table {table} (id integer, name varchar)", settings=settings)
        trino.execute(f"insert into {table} values (1, 'a'), (2, 'b')", settings=settings)
        trino.execute(f"update {table} set name = ? where id = ?", ["B", 2], settings=settings)
        trino.execute(f"delete from {table} where id = ?", [1], settings=settings)
        rows = trino.fetch_arrow(f"select id, name from {table}", settings=settings).to_pylist()
        assert rows == [{"id": 2, "name": "B"}]
    finally:
        trino.execute(f"drop table if exists {table}", settings=settings)
        trino.execute(f"drop schema if exists {trino.qualified('iceberg', schema)}",
                      settings=settings)  # fmt: skip


@pytest.mark.stack
def test_pyiceberg_table_read_by_trino_and_duckdb(trino_stack) -> None:
    import pyarrow as pa

    from playground import lakehouse
    from playground.engines import duck

    settings = trino_stack
    namespace = f"test_{uuid.uuid4().hex[:8]}"
    data = pa.table({"id": list(range(500)), "amount": [i / 4 for i in range(500)]})
    lakehouse.write_table(f"{namespace}.shared", data, settings=settings)
    try:
        names, rows = trino.execute(
            f"select count(*), sum(id) from {trino.qualified('iceberg', namespace, 'shared')}",
            settings=settings,
        )
        assert rows == [(500, 124750)]
        with duck.connect(settings=settings) as con:
            lakehouse.register_duckdb_view(con, f"{namespace}.shared", "shared", settings)
            assert con.execute("select count(*), sum(id) from shared").fetchone() == (500, 124750)
    finally:
        cat = lakehouse.catalog(settings)
        cat.purge_table(f"{namespace}.shared")
        cat.drop_namespace(namespace)


@pytest.mark.stack
def test_doctor_in_stack_mode_passes_against_the_running_trino(trino_stack) -> None:
    from playground.cli import doctor

    found = {check.component: check for check in doctor.checks(trino_stack)}
    for component in ("stack: postgres", "stack: object store", "stack: trino", "iceberg catalog"):
        assert found[component].ok, found[component].line()
    assert "Trino 476" in found["stack: trino"].detail
    for catalog in ("iceberg", "postgresql", "tpch"):
        assert catalog in found["stack: trino"].detail


@pytest.mark.stack
def test_trino_reads_pagila_through_its_postgresql_catalog(trino_stack) -> None:
    from playground.services import postgres

    _, rows = trino.execute(
        f"select count(*) from {trino.qualified('postgresql', 'public', 'rental')}",
        settings=trino_stack,
    )
    with postgres.connect(trino_stack.pagila_db, trino_stack) as conn:
        assert rows == [(conn.execute("select count(*) from rental").fetchone()[0],)]


# A result above the size Trino sends inline (about 3 MB: 150,000 customers with their names are
# spooled, without the names they are not; measured), from a table Trino's tpch catalog makes
# in about a second (its orders took 10 s: each order's price needs its line items)
LARGE = "select custkey, acctbal, name from tpch.sf1.customer"
COUNTED = "select count(*), sum(custkey) from tpch.sf1.customer"


def _segments_counted(monkeypatch) -> list:
    """The spooled segments the trino client will fetch, as it makes them."""
    from trino import client

    spooled = []

    class Counted(client.SpooledSegment):
        def __init__(self, *args, **kwargs) -> None:
            spooled.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(client, "SpooledSegment", Counted)
    return spooled


@pytest.mark.stack
@pytest.mark.slow
def test_large_results_come_through_the_spooling_protocol(trino_stack, monkeypatch) -> None:
    """Rows arrive as segments the workers spooled to the bucket, not as JSON pages."""
    # a CA bundle in the environment would replace the verification of the segments' session
    # (the client then asks for the direct protocol: tested below)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    spooled = _segments_counted(monkeypatch)
    table = trino.fetch_arrow(LARGE, settings=trino_stack)
    _, [(rows, keys)] = trino.execute(COUNTED, settings=trino_stack)
    assert table.num_rows == rows == 150_000
    assert sum(table.column("custkey").to_pylist()) == keys
    assert spooled  # at least one segment, fetched from the bucket through the coordinator


# statement through Trino's postgresql catalog -> what PostgreSQL answers its read-only role
THROUGH_POSTGRES = {
    "drop table postgresql.public.payment": "must be owner of table payment",
    "delete from postgresql.public.payment": "permission denied for table payment",
    "CALL postgresql.system.execute(query => 'create database evil')": (
        "permission denied to create database"
    ),
    "CALL postgresql.system.execute(query => 'alter role playground password ''x''')": (
        "permission denied to alter role"
    ),
    "CALL postgresql.system.execute(query => 'create role evil superuser')": (
        "permission denied to create role"
    ),
    "CALL postgresql.system.execute(query => 'select rolpassword from pg_authid')": (
        "permission denied for table pg_authid"
    ),
}


@pytest.mark.stack
def test_the_postgresql_catalog_reads_pagila_and_changes_nothing(trino_stack) -> None:
    """Even with Trino's login, SQL through its postgresql catalog runs as a role that owns
    nothing: it reads pagila's tables, as granted, and every change is refused."""
    from trino.exceptions import TrinoExternalError

    from playground.services import postgres

    with postgres.connect(trino_stack.pagila_db, trino_stack) as conn:
        expected = conn.execute("select count(*), max(email) from customer").fetchone()
    query = "select count(*), max(email) from postgresql.public.customer"
    assert trino.execute(query, settings=trino_stack)[1] == [expected]
    answers = {}
    for statement in THROUGH_POSTGRES:
        with pytest.raises(TrinoExternalError) as refused:
            trino.execute(statement, settings=trino_stack)
        answers[statement] = refused.value.message
    assert {s: THROUGH_POSTGRES[s] in a for s, a in answers.items()} == dict.fromkeys(
        THROUGH_POSTGRES, True
    ), answers
    with postgres.connect(trino_stack.pagila_db, trino_stack) as conn:  # nothing changed
        assert conn.execute("select count(*), max(email) from customer").fetchone() == expected


@pytest.mark.stack
def test_the_stack_trino_wants_its_login_over_verified_tls(trino_stack) -> None:
    import stat

    import requests
    import trino as client

    login = trino.local_login(trino_stack)
    if login is None:
        pytest.skip("the compose stack's Trino answers here: it has no TLS (docs/security.md)")
    assert trino.base_url(trino_stack).startswith("https://")
    certificate = trino_stack.data_dir / "stack" / "trino-tls" / "certificate.pem"
    assert login["certificate"] == str(certificate)
    for name in ("certificate.pem", "keystore.pem", "password.db", "login.json"):
        assert stat.S_IMODE(certificate.with_name(name).stat().st_mode) == 0o600, name
    assert login["password"] not in certificate.with_name("password.db").read_text()

    def query(password: str, verify) -> list:
        session = requests.Session()  # only `verify` decides, not REQUESTS_CA_BUNDLE
        session.verify, session.trust_env = verify, False
        with client.dbapi.connect(host="127.0.0.1", port=trino_stack.trino_port, user=login["user"],
                                  http_scheme="https", http_session=session,
                                  auth=client.auth.BasicAuthentication(login["user"], password),
                                  request_timeout=20) as conn:  # fmt: skip
            cursor = conn.cursor()
            cursor.execute("select count(*) from tpch.tiny.nation")
            return cursor.fetchall()

    assert query(login["password"], login["certificate"]) == [[25]]
    with pytest.raises(client.exceptions.TrinoConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        query(login["password"], True)  # the machine's CAs do not vouch for it: nothing trusts it
    with pytest.raises(client.exceptions.HttpError, match="401"):
        query(login["password"] + "x", login["certificate"])


@pytest.mark.stack
def test_a_ca_bundle_in_the_environment_still_reads_large_results(trino_stack, monkeypatch) -> None:
    """REQUESTS_CA_BUNDLE (set on many machines) replaces the `verify` of every requests
    session that trusts the environment, the client's own for spooled segments too: a result
    large enough to be spooled (the test above) comes through the direct protocol, verified."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    spooled = _segments_counted(monkeypatch)
    table = trino.fetch_arrow(LARGE, settings=trino_stack)
    _, [(rows, keys)] = trino.execute(COUNTED, settings=trino_stack)
    assert table.num_rows == rows == 150_000
    assert sum(table.column("custkey").to_pylist()) == keys
    assert not spooled  # asked for, a segment's download failed certificate verification
