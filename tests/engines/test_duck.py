import sys

import pytest

from playground.engines import duck
from tests.helpers import run


def test_extensions_load_offline_without_writing_home(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    code = "from playground.engines import duck; print(duck.loaded_extensions(duck.connect()))"
    result = run([sys.executable, "-c", code], env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    for name in duck.EXTENSIONS:
        assert f"'{name}'" in result.stdout
    assert list(home.iterdir()) == []  # nothing written to ~/.duckdb


def test_autoinstall_is_off() -> None:
    with duck.connect() as con:
        assert con.execute("select current_setting('autoinstall_known_extensions')").fetchone() == (
            False,
        )
        # spatial is not shipped: it must fail instead of being downloaded
        with pytest.raises(Exception, match="spatial"):
            con.execute("select ST_Point(1, 2)")


def test_missing_extension_names_the_package(monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "duckdb_extension_iceberg" else real(name, *a),
    )
    with pytest.raises(duck.ExtensionMissing, match="pip install 'duckdb-extension-iceberg=="):
        duck.connect()


def test_stack_mode_creates_s3_secret(stack_settings) -> None:
    with duck.connect(settings=stack_settings) as con:
        rows = con.execute(
            "select type, secret_string from duckdb_secrets() where name = 'playground_s3'"
        ).fetchall()
    assert len(rows) == 1 and rows[0][0] == "s3"
    endpoint = stack_settings.s3_endpoint.removeprefix("http://")
    assert f"endpoint={endpoint}" in rows[0][1]
    assert "url_style=path" in rows[0][1] and "use_ssl=false" in rows[0][1]


def test_reads_postgres_through_scanner(settings) -> None:
    from playground.services import postgres

    with duck.connect() as con:
        dsn = postgres.libpq_dsn("postgres", settings).replace("'", "''")
        con.execute(f"ATTACH '{dsn}' AS pg (TYPE postgres, READ_ONLY)")
        assert con.execute("select count(*) > 0 from pg.pg_catalog.pg_class").fetchone() == (True,)


def test_embedded_mode_has_no_rest_catalog_to_attach(settings) -> None:
    with duck.connect(settings=settings, extensions=("avro", "iceberg")) as con:
        with pytest.raises(duck.NoRestCatalog, match="playground stack up"):
            duck.attach_lakehouse(con, settings)
        assert con.execute("select count(*) from duckdb_databases() where database_name = 'lake'")\
            .fetchone() == (0,)  # fmt: skip


def test_an_attach_alias_must_be_a_plain_name(stack_settings) -> None:
    with duck.connect(settings=stack_settings, extensions=("avro", "iceberg", "httpfs")) as con:
        with pytest.raises(ValueError, match="not a plain name"):
            duck.attach_lakehouse(con, stack_settings, alias="lake; drop")
