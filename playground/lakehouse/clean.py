"""`playground clean`: remove what killed runs leave behind, never anything still in use.

- Staged Parquet files of a killed `playground extract` (its `data/extract-...-p<pid>-h<host>-...`
  folder under the table): removed only when it is proven that
  - the process that staged them is gone (its PID is free, a zombie, or now held by a process
    started after the files were written), and it ran on this machine;
  - they are no younger than the oldest writer still running;
  - no table of any catalog of the data directory references them: every catalog name of the
    embedded catalog (`catalog.db`) and of the stack's, through every snapshot, expired ones
    too, and every metadata file a table still lists (`playground.lakehouse.references`).
  Anything else is kept, and the report says why (a catalog that cannot be read keeps every
  file, with the command that fixes it).
- Databases a killed `playground seed` left (`<name>__loading`, `<name>__old`): dropped only if
  no seed of `<name>` holds its lock.

Two cleans may run at once: a file or folder the other removed first is simply gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyarrow import fs as pafs

from playground.config.settings import Settings, get_settings
from playground.datasets.pagila import seed
from playground.lakehouse import objectstore, references
from playground.lakehouse.staging import STAGING_PREFIX, host_tag, started, writer_of


@dataclass
class Leftovers:
    files: list[tuple[str, int]] = field(default_factory=list)  # (path, bytes)
    databases: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # staged folders kept, each with its reason
    hint: str = ""  # the command that lets a later clean decide about the kept files

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


@dataclass
class _Folder:
    path: str
    files: list[tuple[str, int, float]] = field(default_factory=list)  # (path, bytes, mtime)

    @property
    def first(self) -> float:
        return min(mtime for _, _, mtime in self.files)

    @property
    def last(self) -> float:
        return max(mtime for _, _, mtime in self.files)


def _listing(filesystem, base: str) -> list[pafs.FileInfo]:
    selector = pafs.FileSelector(base.rstrip("/"), recursive=True, allow_not_found=True)
    for _attempt in range(10):
        try:
            return filesystem.get_file_info(selector)
        except FileNotFoundError:  # another clean removed a folder while this one listed it
            continue
    return filesystem.get_file_info(selector)


def _staging_folder(path: str) -> str | None:
    """The `extract-...` folder a file lies in, or None."""
    parts = path.split("/")[:-1]
    inside = [i for i, part in enumerate(parts) if part.startswith(STAGING_PREFIX)]
    return "/".join(parts[: inside[-1] + 1]) if inside else None


def _staged(filesystem, base: str) -> dict[str, _Folder]:
    """The files under `extract-...` folders of the warehouse, by folder."""
    folders: dict[str, _Folder] = {}
    for info in _listing(filesystem, base):
        folder = _staging_folder(info.path) if info.type == pafs.FileType.File else None
        if folder is not None:
            mtime = info.mtime.timestamp() if info.mtime else float("inf")
            folders.setdefault(folder, _Folder(folder)).files.append(
                (info.path, info.size or 0, mtime)
            )
    return folders


def _judge(folder: _Folder, base: str) -> tuple[float | None, str]:
    """(the start of its writer if it still runs, why it is kept: "" if it may go)."""
    relative = folder.path.removeprefix(base.rstrip("/") + "/").split("/")
    name = relative[-1]
    if len(relative) != 4 or relative[2] != "data":
        return None, f"{folder.path}: not where an extract stages files (<namespace>/<table>/data/)"
    writer = writer_of(name)
    if writer is None:
        return None, f"{folder.path}: its name does not say which process staged it"
    if not writer.here:
        return None, f"{folder.path}: staged on {writer.host!r}, not {host_tag()!r}: clean there"
    start = started(writer, folder.first)
    if start is not None:
        return start, f"{folder.path}: its writer (pid {writer.pid}) is running"
    return None, ""


def _unreferenced(settings: Settings, dead: list[_Folder], found: Leftovers) -> None:
    try:
        used = references.referenced(settings)
    except references.Unprovable as exc:
        count = sum(len(folder.files) for folder in dead)
        found.kept.append(f"{count} staged file(s) of killed extracts, because {exc}")
        found.hint = exc.hint
        return
    for folder in dead:
        for path, size, _mtime in folder.files:
            if not references.forms(path) & used:
                found.files.append((path, size))


def orphan_files(settings: Settings, found: Leftovers) -> None:
    """Add to `found` the staged files of killed extracts that no snapshot references, and the
    folders kept with their reasons."""
    filesystem, base = objectstore.filesystem(settings, settings.warehouse)
    running: list[float] = []
    dead: list[_Folder] = []
    # Writers are judged gone before the catalogs are read: a gone writer commits nothing more.
    for folder in _staged(filesystem, base).values():
        start, reason = _judge(folder, base)
        if start is not None:
            running.append(start)
        if reason:
            found.kept.append(reason)
        else:
            dead.append(folder)
    oldest = min(running, default=None)
    if oldest is not None:  # a killed run younger than a running writer waits for that writer
        young = [folder for folder in dead if folder.last >= oldest]
        found.kept += [f"{f.path}: younger than a writer still running" for f in young]
        dead = [folder for folder in dead if folder.last < oldest]
    if dead:
        _unreferenced(settings, dead, found)


def find(settings: Settings | None = None) -> Leftovers:
    """What `clean()` would remove, and what it keeps with the reason."""
    settings = settings or get_settings()
    found = Leftovers(databases=seed.leftover_databases(settings))
    orphan_files(settings, found)
    return found


def _remove_files(filesystem, files: list[tuple[str, int]]) -> None:
    for path, _size in files:
        try:
            filesystem.delete_file(path)
        except FileNotFoundError:  # another clean removed it first
            pass
    for folder in {
        _staging_folder(path) for path, _ in files
    }:  # the folder goes once nothing is left in it
        try:
            left = filesystem.get_file_info(
                pafs.FileSelector(folder, recursive=True, allow_not_found=True)
            )
            if not any(info.type == pafs.FileType.File for info in left):
                filesystem.delete_dir(folder)
        except FileNotFoundError:  # another clean removed it first
            pass


def clean(settings: Settings | None = None, dry_run: bool = False, progress=print) -> Leftovers:
    """Remove the leftovers of killed runs (or only list them with `dry_run`)."""
    settings = settings or get_settings()
    found = find(settings)
    verb = "would remove" if dry_run else "removed"
    if not dry_run:
        filesystem, _ = objectstore.filesystem(settings, settings.warehouse)
        _remove_files(filesystem, found.files)
        for database in found.databases:
            seed.drop_leftover(database, settings)
    progress(f"{verb}: {found.summary()}")
    for reason in found.kept[:5]:
        progress(f"kept: {reason}")
    if len(found.kept) > 5:
        progress(f"kept: ... and {len(found.kept) - 5} more staged folder(s)")
    if found.hint:
        progress(f"next: {found.hint}")
    return found
