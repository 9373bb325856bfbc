"""The bundled PostgreSQL programs, found through the one wrapper of the wheel's version table."""

from playground.services import pgserver


def test_the_bundled_versions_hold_the_programs_of_the_newest() -> None:
    versions = pgserver.bundled_versions()
    newest = pgserver.target_version()
    assert newest in versions and newest >= 17
    for program in ("pg_ctl", "initdb", "psql", "pg_upgrade"):
        assert (versions[newest] / program).is_file(), program
    assert pgserver.bin_dir() == versions[newest]
