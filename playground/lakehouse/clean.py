"""`playground clean`: remove what killed runs leave behind, never anything still in use.

- Staged Parquet files of a killed `playground extract` (its `data/extract-...-p<pid>-h<host>-...`
  folder under the table), and in the stack's bucket the multipart uploads it never finished
  (the file it was writing when killed: parts on the server's disk that no listing shows):
  removed (aborted) only when it is proven that
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
- Replication slots named `playground_...` that no reader uses and whose creating process is
  gone (`playground.services.slots`): dropped with their publication. Another's slot is never
  touched.

Two cleans may run at once: a file or folder the other removed first is simply gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyarrow import fs as pafs

from playground.config.settings import Settings, get_settings
from playground.datasets.pagila import seed
from playground.lakehouse import objectstore, references
from playground.lakehouse.staging import STAGING_PREFIX, host_tag, started, writer_of
from playground.services import postgres, slots


@dataclass
class Leftovers:
    files: list[tuple[str, int]] = field(default_factory=list)  # (path, bytes)
    uploads: list[tuple[str, str]] = field(default_factory=list)  # (path, upload id)
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
        if self.uploads:
            parts.append(f"{len(self.uploads)} unfinished upload(s) of killed extracts")
        if self.databases:
            parts.append(f"database(s) of killed seeds: {', '.join(self.databases)}")
        return "; ".join(parts) or "none"


@dataclass
class _Folder:
    path: str
    made: float = float("inf")  # the folder's own modification time (its creation while empty)
    files: list[tuple[str, int, float]] = field(default_factory=list)  # (path, bytes, mtime)
    # S3: files a writer was still writing (path, upload id, begun), parts no listing shows
    uploads: list[tuple[str, str, float]] = field(default_factory=list)
    start: float | None = None  # when its writer started, while that writer runs

    @property
    def first(self) -> float:
        return min([self.made, *(mtime for _, _, mtime in [*self.files, *self.uploads])])

    @property
    def last(self) -> float:
        times = [mtime for _, _, mtime in [*self.files, *self.uploads]]
        return max([self.made if not times else 0.0, *times])


def _listing(filesystem, base: str) -> list[pafs.FileInfo]:
    selector = pafs.FileSelector(base.rstrip("/"), recursive=True, allow_not_found=True)
    for _attempt in range(10):
        try:
            return filesystem.get_file_info(selector)
        except FileNotFoundError:  # another clean removed a folder while this one listed it
            continue
    return filesystem.get_file_info(selector)


def _staging_folder(path: str) -> str | None:
    """The `extract-...` folder a path lies in (or is), or None."""
    parts = path.split("/")
    inside = [i for i, part in enumerate(parts) if part.startswith(STAGING_PREFIX)]
    return "/".join(parts[: inside[-1] + 1]) if inside else None


def _staged(filesystem, base: str) -> dict[str, _Folder]:
    """The `extract-...` folders of the warehouse and the files under them."""
    folders: dict[str, _Folder] = {}
    for info in _listing(filesystem, base):
        folder = _staging_folder(info.path)
        if folder is None:
            continue
        mtime = info.mtime.timestamp() if info.mtime else float("inf")  # unknown: the youngest
        entry = folders.setdefault(folder, _Folder(folder))
        if info.type == pafs.FileType.File:
            entry.files.append((info.path, info.size or 0, mtime))
        elif info.path == folder:
            entry.made = mtime
    return folders


def _add_uploads(folders: dict[str, _Folder], uploads: list[tuple[str, str, float]]) -> None:
    """Add the unfinished uploads into `extract-...` folders to those folders."""
    for path, upload, begun in uploads:
        folder = _staging_folder(path)
        if folder is not None:
            folders.setdefault(folder, _Folder(folder)).uploads.append((path, upload, begun))


def _listed(settings: Settings, filesystem, base: str, found: Leftovers) -> dict[str, _Folder]:
    """The staging folders with their files and unfinished uploads; none (with the reason and
    the fix in `found`) when the warehouse cannot be listed."""
    try:
        folders = _staged(filesystem, base)  # first: a bucket that does not answer fails fast
        _add_uploads(folders, objectstore.open_uploads(settings, settings.warehouse))
    except Exception as exc:  # any failure: what the warehouse holds is unknown, nothing goes
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        found.kept.append(f"every staged file: the warehouse {settings.warehouse} cannot be "
                          f"listed ({first})")  # fmt: skip
        found.hint = "playground stack up" if settings.is_stack else "playground doctor"
        return {}
    return folders


def _judge(folder: _Folder, base: str) -> str:
    """Why the folder is kept whatever the catalogs say ("" if that depends on them); sets
    `folder.start` while its writer runs."""
    relative = folder.path.removeprefix(base.rstrip("/") + "/").split("/")
    name = relative[-1]
    if len(relative) != 4 or relative[2] != "data":
        return f"{folder.path}: not where an extract stages files (<namespace>/<table>/data/)"
    writer = writer_of(name)
    if writer is None:
        return f"{folder.path}: its name does not say which process staged it"
    if not writer.here:
        return f"{folder.path}: staged on {writer.host!r}, not {host_tag()!r}: clean there"
    folder.start = started(writer, folder.first)
    if folder.start is not None:
        return f"{folder.path}: its writer (pid {writer.pid}) is running"
    return ""


def _kept_for(settings: Settings, dead: list[_Folder], found: Leftovers) -> set[str] | None:
    """Every file the catalogs reference; None (with the reason in `found`) if unknowable."""
    try:
        return references.referenced(settings)
    except references.Unprovable as exc:
        count = sum(len(folder.files) for folder in dead)
        found.kept.append(f"{count} staged file(s) of killed extracts, because {exc}")
        found.hint = exc.hint
        return None


def orphan_files(settings: Settings, found: Leftovers) -> None:
    """Add to `found` the staged files of killed extracts that nothing references, and the
    folders kept with their reasons."""
    filesystem, base = objectstore.filesystem(settings, settings.warehouse)
    running: list[_Folder] = []
    dead: list[_Folder] = []
    # Writers are judged gone before the catalogs are read: a gone writer commits nothing more.
    folders = _listed(settings, filesystem, base, found)
    for folder in folders.values():
        reason = _judge(folder, base)
        if reason:
            found.kept.append(reason)
        if folder.start is not None:
            running.append(folder)
        elif not reason:
            dead.append(folder)
    dead = [folder for folder in dead if folder.files or folder.uploads]
    if not dead:
        return
    used = _kept_for(settings, dead, found)
    if used is None:
        return
    # A writer still staging (some file of its folder not committed) keeps every killed run's
    # file younger than its start.
    staging = [f.start for f in running if not f.files or _unused(f.files, used)]
    oldest = min(staging, default=float("inf"))
    for folder in dead:
        if folder.last >= oldest:
            found.kept.append(f"{folder.path}: younger than a writer still staging files")
        else:
            found.files += [(path, size) for path, size, _ in _unused(folder.files, used)]
            # an unfinished upload is no object yet: no catalog can reference it
            found.uploads += [(path, upload) for path, upload, _ in folder.uploads]


def _unused(files: list[tuple[str, int, float]], used: set[str]) -> list[tuple[str, int, float]]:
    return [file for file in files if not references.forms(file[0]) & used]


def find(settings: Settings | None = None) -> Leftovers:
    """What `clean()` would remove, and what it keeps with the reason."""
    settings = settings or get_settings()
    found = Leftovers(databases=seed.leftover_databases(settings))
    orphan_files(settings, found)
    return found


def _remove_files(filesystem, files: list[tuple[str, int]], more: list[str]) -> None:
    """Delete `files`, then each staging folder of them (or of the paths `more`) left empty."""
    for path, _size in files:
        try:
            filesystem.delete_file(path)
        except FileNotFoundError:  # another clean removed it first
            pass
    for folder in {
        _staging_folder(path) for path in [*(path for path, _ in files), *more]
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
        for path, upload in found.uploads:
            objectstore.abort_upload(settings, path, upload)
        _remove_files(filesystem, found.files, [path for path, _ in found.uploads])
        for database in found.databases:
            seed.drop_leftover(database, settings)
    progress(f"{verb}: {found.summary()}")
    for reason in found.kept[:5]:
        progress(f"kept: {reason}")
    if len(found.kept) > 5:
        progress(f"kept: ... and {len(found.kept) - 5} more staged folder(s)")
    if found.hint:
        progress(f"next: {found.hint}")
    drop_stale_slots(settings, dry_run, progress)
    return found


def drop_stale_slots(settings: Settings, dry_run: bool = False, progress=print) -> list[str]:
    """Drop the playground's replication slots killed runs left (never another's); their names."""
    if not postgres.status(settings).running:
        return []
    dropped = []
    for slot in slots.stale(settings):
        try:
            if not dry_run:
                slots.drop(slot, settings)
        except slots.SlotError as exc:
            progress(f"kept replication slot {slot.line()}\nnext: {exc}")
            continue
        progress(f"{'would drop' if dry_run else 'dropped'} replication slot {slot.line()}")
        dropped.append(slot.name)
    return dropped
