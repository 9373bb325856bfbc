import os
from pathlib import Path

import pytest

from playground.config.settings import SettingsError, get_settings, project_root


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("PLAYGROUND_"):
            monkeypatch.delenv(name)
    return tmp_path / "no.env"


def test_defaults_match_env_example(clean_env: Path) -> None:
    settings = get_settings(env_file=clean_env)
    assert settings.mode == "embedded"
    assert settings.data_dir == (project_root() / ".playground").resolve()
    example = get_settings(env_file=project_root() / ".env.example")
    assert example == settings


def test_env_file_then_environment(clean_env: Path, monkeypatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PLAYGROUND_TRINO_PORT=8181\nPLAYGROUND_S3_BUCKET=lake\n")
    monkeypatch.setenv("PLAYGROUND_S3_BUCKET", "from-env")
    settings = get_settings(env_file=env_file)
    assert settings.trino_port == 8181
    assert settings.s3_bucket == "from-env"


def test_stack_mode_warehouse(clean_env: Path, monkeypatch) -> None:
    monkeypatch.setenv("PLAYGROUND_MODE", "STACK")
    settings = get_settings(env_file=clean_env)
    assert settings.is_stack
    assert settings.warehouse == "s3://warehouse/"


def test_relative_data_dir_is_under_project(clean_env: Path, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "d"))
    assert get_settings(env_file=clean_env).data_dir == (tmp_path / "d").resolve()
    assert (tmp_path / "d").is_dir()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PLAYGROUND_MODE", "cluster", "PLAYGROUND_MODE='cluster' is not a mode"),
        ("PLAYGROUND_PG_PORT", "five", "PLAYGROUND_PG_PORT='five' is not a whole number"),
        ("PLAYGROUND_TRINO_PORT", "70000", "PLAYGROUND_TRINO_PORT=70000 is not a TCP port"),
        ("PLAYGROUND_COLOUR", "blue", "Unknown setting PLAYGROUND_COLOUR"),
        ("PLAYGROUND_PAGILA_SCALE", "big", "PLAYGROUND_PAGILA_SCALE='big' is not a number"),
        ("PLAYGROUND_PAGILA_SCALE", "0", "PLAYGROUND_PAGILA_SCALE=0 must be above 0"),
    ],
)
def test_bad_values_name_the_variable(clean_env, monkeypatch, variable, value, message) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message):
        get_settings(env_file=clean_env)


def test_unwritable_data_dir(clean_env: Path, monkeypatch, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(blocker / "data"))
    with pytest.raises(SettingsError, match="PLAYGROUND_DATA_DIR=.* is not a writable directory"):
        get_settings(env_file=clean_env)


def test_empty_values_mean_the_default(clean_env: Path, monkeypatch) -> None:
    for name in ("PLAYGROUND_DATA_DIR", "PLAYGROUND_MODE", "PLAYGROUND_TRINO_PORT"):
        monkeypatch.setenv(name, "")
    settings = get_settings(env_file=clean_env)
    assert settings.data_dir == (project_root() / ".playground").resolve()  # not the project root
    assert settings.mode == "embedded" and settings.trino_port == 8080
