"""`playground clean`: remove what killed runs leave behind, never anything still in use.

- Staged Parquet files of a killed `playground extract` (its `data/extract-...-p<pid>-...` folder
  under the table): removed only if no snapshot of any table references them and the process
  that staged them is gone. Files a snapshot references, even an old one, are never touched.
- Databases a killed `playground seed` left (`<name>__loading`, `<name>__old`): dropped only if
  no seed of `<name>` holds its lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psutil
from pyarrow import fs as pafs

from playground import lakehouse
from playground.config.settings import Settings, get_settings
from playground.datasets.pagila import seed
from playground.lakehouse import objectstore
from playground.lakehouse.staging import STAGING_PREFIX, staging_pid


@dataclass
class Leftovers:
    files: list[tuple[str, int]] = field(default_factory=list)  # (path, bytes)
    databases: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.files)

    def summary(self) -> str:
        parts = []
        if self.files:
            size = f"{self.bytes / 2**20:,.1f} MB"
            parts.append(f"{len(self.files)} staged file(s) of killed extracts ({size})")
        if self.databases:
            parts.append(f"database(s) of killed seeds: {', '.join(self.databases)}")
        return "; ".join(parts) or "none"


def _referenced(cat) -> set[str]:
    """Every data file any snapshot of any table in the catalog references (without scheme)."""
    paths = set()
    for namespace in cat.list_namespaces():
        for identifier in cat.list_tables(namespace):
            table = cat.load_table(identifier)
            if table.current_snapshot() is None:
                continue
            for path in table.inspect.all_files().column("file_path").to_pylist():
                paths.add(path.split("://", 1)[-1])
    return paths


def _writer_alive(folder_name: str) -> bool:
    pid = staging_pid(folder_name)
    return pid is None or psutil.pid_exists(pid)  # unnamed folders are kept, to be safe


def _staging_folder(path: str) -> str | None:
    """The `extract-...` folder a file lies in, or None."""
    parts = path.split("/")[:-1]
    inside = [i for i, part in enumerate(parts) if part.startswith(STAGING_PREFIX)]
    return "/".join(parts[: inside[-1] + 1]) if inside else None


def orphan_files(settings: Settings, cat=None) -> list[tuple[str, int]]:
    """Staged files of killed extracts: in no snapshot, their writer gone."""
    filesystem, base = objectstore.filesystem(settings, settings.warehouse)
    selector = pafs.FileSelector(base.rstrip("/"), recursive=True, allow_not_found=True)
    staged = []
    for info in filesystem.get_file_info(selector):
        folder = _staging_folder(info.path) if info.type == pafs.FileType.File else None
        if folder is not None and not _writer_alive(folder.rsplit("/", 1)[-1]):
            staged.append((info.path, info.size or 0))
    if not staged:
        return []
    referenced = _referenced(cat or lakehouse.catalog(settings))
    return [(path, size) for path, size in staged if path not in referenced]


def find(settings: Settings | None = None, cat=None) -> Leftovers:
    """What `clean()` would remove."""
    settings = settings or get_settings()
    return Leftovers(orphan_files(settings, cat), seed.leftover_databases(settings))


def clean(settings: Settings | None = None, dry_run: bool = False, progress=print) -> Leftovers:
    """Remove the leftovers of killed runs (or only list them with `dry_run`)."""
    settings = settings or get_settings()
    found = find(settings)
    verb = "would remove" if dry_run else "removed"
    if not dry_run:
        filesystem, _ = objectstore.filesystem(settings, settings.warehouse)
        for path, _size in found.files:
            filesystem.delete_file(path)
        staging = {_staging_folder(path) for path, _ in found.files}
        for folder in staging:  # the folder goes once nothing is left in it
            left = filesystem.get_file_info(pafs.FileSelector(folder, recursive=True))
            if not any(info.type == pafs.FileType.File for info in left):
                filesystem.delete_dir(folder)
        for database in found.databases:
            seed.drop_leftover(database, settings)
    progress(f"{verb}: {found.summary()}")
    return found
