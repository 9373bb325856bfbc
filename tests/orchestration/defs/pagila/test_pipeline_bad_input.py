"""The pipeline on bad input: a source whose schema changed, PostgreSQL down, a locked warehouse,
data that fails a dbt test. Each run fails (or adapts) with a message naming the cause."""

import subprocess
import sys

import pytest

from playground import lakehouse
from playground.config.settings import get_settings
from playground.orchestration import pipeline
from playground.services import postgres
from tests.helpers import free_port, pipeline_on

pytestmark = pytest.mark.slow
DATABASE = "pagila_bad_input"


@pytest.fixture(scope="module")
def instance():
    with pipeline_on(DATABASE, 0.05, 7) as (_, instance):
        yield instance


def _run(instance, selection: str) -> pipeline.Stages:
    return pipeline.materialize_pagila(
        get_settings(), instance, selection=selection, progress=lambda _line: None,
        partition=None if "payment" not in selection else "2022-05-01",
    )  # fmt: skip


def _sql(statement: str) -> None:
    with postgres.connect(DATABASE, autocommit=True) as conn:
        conn.execute(statement)


def test_a_new_source_column_is_added_to_the_lakehouse_table(instance) -> None:
    _sql("alter table film add column note text default 'restored print'")
    try:
        _run(instance, "key:pagila/film")
    finally:  # the source as the other tests expect it, whatever order they run in
        _sql("alter table film drop column note")
    film = lakehouse.read("pagila.film")
    assert film.column_names[-1] == "note"
    assert set(film.column("note").to_pylist()) == {"restored print"}


def test_an_incompatible_type_change_fails_and_commits_nothing(instance) -> None:
    before = lakehouse.catalog().load_table("pagila.actor").current_snapshot().snapshot_id
    _sql("alter table actor alter column last_update type text using last_update::text")
    try:
        with pytest.raises(pipeline.PipelineError) as error:
            _run(instance, "key:pagila/actor")
    finally:
        _sql("alter table actor alter column last_update type timestamptz "
             "using last_update::timestamptz")  # fmt: skip
    message = str(error.value)
    assert "pagila__actor" in message and "last_update" in message
    assert "timestamp" in message and "string" in message
    after = lakehouse.catalog().load_table("pagila.actor").current_snapshot().snapshot_id
    assert after == before


def test_postgres_down_fails_at_the_first_asset_with_the_fix(instance, monkeypatch) -> None:
    monkeypatch.setenv("PLAYGROUND_MODE", "stack")
    monkeypatch.setenv("PLAYGROUND_PG_PORT", str(free_port()))
    with pytest.raises(pipeline.PipelineError) as error:
        _run(instance, "key:pagila/language")
    message = str(error.value)
    assert "pagila__language" in message
    assert "unreachable" in message and "docker compose up --wait" in message


def test_a_locked_warehouse_names_the_process_holding_it(instance) -> None:
    path = str(get_settings().duckdb_path)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; con = duckdb.connect({path!r}); print('open', flush=True); "
         "time.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(pipeline.PipelineError) as error:
            _run(instance, "group:staging or group:marts")
    finally:
        holder.kill()
        holder.wait(10)
    message = str(error.value)
    assert "pagila_dbt" in message and "open in another process" in message
    assert str(holder.pid) in message


def test_a_failing_dbt_test_fails_its_check_and_shows_the_query(instance, capfd) -> None:
    with postgres.connect(DATABASE) as conn:
        (language,) = conn.execute("select language_id from film where film_id = 1").fetchone()
    _sql("alter table film drop constraint film_language_id_fkey")
    _sql("update film set language_id = 999 where film_id = 1")
    try:
        with pytest.raises(pipeline.PipelineError) as error:
            _run(instance, "key:pagila/film or group:staging or group:marts")
    finally:  # the source as the other tests expect it, whatever order they run in
        _sql(f"update film set language_id = {int(language)} where film_id = 1")  # noqa: S608
        _sql("alter table film add constraint film_language_id_fkey foreign key (language_id) "
             "references language (language_id)")  # fmt: skip
    message = str(error.value)
    assert "pagila/film:foreign_keys" in message  # the lakehouse check saw it too
    assert "relationships_stg_film_language_id" in message
    logs = capfd.readouterr()
    assert "Rows it found:" in logs.out + logs.err
    assert "stg_language" in logs.out + logs.err
