"""Unpacking the Trino server archive safely on every Python 3.11 (the "data" filter is 3.11.4+)."""

from __future__ import annotations

import io
import tarfile

import pytest

from playground.stack import trino_server


def _archive(tmp_path, *members: tarfile.TarInfo):
    path = tmp_path / "server.tar"
    with tarfile.open(path, "w") as tar:
        for member in members:
            data = b"x" if member.isfile() else None
            if data is not None:
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    return tarfile.open(path)


def _member(name: str, kind=tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


@pytest.mark.parametrize("has_filter", [True, False], ids=["3.11.4+", "before 3.11.4"])
def test_a_clean_archive_unpacks(tmp_path, monkeypatch, has_filter: bool) -> None:
    if not has_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    launcher = _member("trino-server-1/bin/launcher", tarfile.SYMTYPE, "../lib/a.jar")
    tar = _archive(tmp_path, _member("trino-server-1/lib/a.jar"), launcher)
    trino_server._extract_safely(tar, tmp_path / "out")
    assert (tmp_path / "out" / "trino-server-1" / "lib" / "a.jar").read_bytes() == b"x"


@pytest.mark.parametrize(
    "member",
    [_member("../escape.txt"), _member("/etc/evil"),
     _member("trino-server-1/link", tarfile.SYMTYPE, "/etc/passwd")],
    ids=["parent", "absolute", "link outside"],
)  # fmt: skip
def test_an_escaping_member_is_refused_without_the_filter(tmp_path, monkeypatch, member) -> None:
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    with pytest.raises(trino_server.TrinoUnavailable, match="outside its folder"):
        trino_server._extract_safely(_archive(tmp_path, member), tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
