"""Where a run publishes, and the rules that keep gapkit from deleting what it did not write.

A report folder is replaced only when gapkit made it: it holds a marker (``.gapkit-report.json``)
listing every file gapkit wrote there, and nothing else. Anything else (an input folder, the
working folder, a home folder, a folder with a file gapkit did not write) is refused before a
notebook runs, with the path and the fix in the message.

Publishing is one short critical section, under a lock on the shared history: the old report
moves aside, the new one moves in, the new history replaces the old; SIGINT and SIGTERM wait
until the three renames are done, and a failing rename undoes the ones before it. So a run
stopped or failing at any point leaves either the previous report and history, or the new ones.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import stat
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gapkit.errors import ConfigError, GapkitError

MARKER = ".gapkit-report.json"
# files a report folder of gapkit before the marker existed may hold (so upgrading keeps working)
_LEGACY_SUFFIXES = (".csv", ".ipynb", ".html", ".json", ".parquet")
LOCK_TIMEOUT_SECONDS = 300.0


class PublishError(GapkitError):
    """The report was made but could not be published; the message says where it is kept."""


@dataclass(frozen=True)
class Target:
    """A checked ``--out``: ``given`` as the user wrote it (absolute), ``folder`` the real folder
    (symlinks resolved) that will be replaced, and ``history`` the history file it shares."""

    given: Path
    folder: Path
    history: Path


def check_target(out: str | Path, data: str | Path | None = None, *, cwd: Path | None = None,
                 home: Path | None = None) -> Target:
    """The folder ``out`` names, if gapkit may publish there; else a :class:`ConfigError`.

    Refused: a folder that equals, contains or lies inside ``data``; one that equals or contains
    the current folder or a home folder; a file; a non-empty folder gapkit did not make; a
    report folder holding files gapkit did not write. A symlink is followed and its target
    checked by the same rules; history.parquet stays beside the link, where the user looks.
    """
    from gapkit.contract.artifacts import HISTORY

    given = Path(out).expanduser().absolute()
    folder = given.resolve()
    shown = f"--out {given}" + (f" (a link to {folder})" if folder != given else "")
    fix = f"Give a new folder instead, e.g. --out {_sibling(given)}"
    for name, other in (("the current folder", cwd or Path.cwd()), ("your home folder", home or Path.home())):
        other = Path(other).resolve()
        if folder == other or other.is_relative_to(folder):
            raise ConfigError(f"{shown}: that is or contains {name} ({other}); publishing replaces the whole "
                              f"folder, so gapkit never writes there. Give a new sub-folder instead, e.g. --out "
                              f"{other / 'reports' / 'latest'}.")
    if data is not None and not _is_url(data):
        source = Path(data).expanduser().resolve()
        if folder == source or source.is_relative_to(folder) or folder.is_relative_to(source):
            where = "is" if folder == source else ("contains" if source.is_relative_to(folder) else "lies inside")
            raise ConfigError(f"{shown} {where} the input folder --data {source}; publishing replaces the whole "
                              f"report folder, so it must be apart from the input. Give a new folder outside "
                              f"the input instead, e.g. --out {source.parent / (source.name + '-report')}.")
    if folder.is_dir() and os.path.ismount(folder):
        raise ConfigError(f"{shown}: a mount point cannot be replaced by another folder, which is how a report is "
                          f"published. {fix}.")
    _check_replaceable(folder, shown, fix)
    return Target(given, folder, given.parent / HISTORY)


def _is_url(value) -> bool:
    return "://" in str(value)


def _sibling(given: Path) -> Path:
    """A new folder next to ``given``, for a message's fix."""
    for number in range(2, 100):
        candidate = given.with_name(f"{given.name}-{number}")
        if not candidate.exists():
            return candidate
    return given.with_name(f"{given.name}-new")


def _check_replaceable(folder: Path, shown: str, fix: str) -> None:
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ConfigError(f"{shown}: a file of that name exists; give a folder for the report (the file is left as "
                          f"it is).")
    foreign = foreign_files(folder)
    if foreign is None:
        raise ConfigError(f"{shown}: the folder exists, is not empty and was not made by gapkit; gapkit replaces only "
                          f"report folders it made itself and never deletes what it did not write. {fix}.")
    if foreign:
        listed = ", ".join(str(p) for p in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ConfigError(f"{shown}: this report folder holds files gapkit did not write ({listed}); publishing "
                          f"replaces the whole folder, so move them elsewhere first. Or {fix[0].lower() + fix[1:]}.")


def foreign_files(folder: Path) -> list[Path] | None:
    """Files in ``folder`` that gapkit did not write there: ``[]`` for an empty folder or a report
    folder holding only its own files, ``None`` for a folder gapkit did not make."""
    present = sorted(p.relative_to(folder) for p in folder.rglob("*") if not p.is_dir() or p.is_symlink())
    if not present and not any(folder.iterdir()):
        return []
    marker = folder / MARKER
    if marker.is_file():
        try:
            written = set(json.loads(marker.read_text(encoding="utf-8"))["files"])
        except (ValueError, KeyError, TypeError, OSError):
            return None
        return [p for p in present if p.as_posix() not in written and p.as_posix() != MARKER]
    if _legacy_report(folder, present):
        return []
    return None


def _legacy_report(folder: Path, present: list[Path]) -> bool:
    """A report folder an earlier gapkit published: its run.json and report files only."""
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(run, dict) and "notebooks" in run and "row_counts" in run
            and all(len(p.parts) == 1 and p.suffix in _LEGACY_SUFFIXES for p in present))


def mark(folder: Path) -> None:
    """Write the marker listing every file now in ``folder``: the report is gapkit's to replace."""
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())
    (folder / MARKER).write_text(json.dumps({"made_by": "gapkit", "files": files}, indent=1), encoding="utf-8")


def folder_mode(folder: Path) -> int:
    """The mode a published folder gets: the one it had, else what the umask gives a new folder."""
    try:
        return stat.S_IMODE(folder.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o777 & ~umask


def remove_own(folder: Path) -> bool:
    """Delete ``folder`` only if gapkit made it (see :func:`foreign_files`); True when removed."""
    if not folder.exists():
        return True
    if folder.is_symlink() or foreign_files(folder) != []:
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return not folder.exists()


@contextmanager
def history_lock(history: Path, timeout: float = LOCK_TIMEOUT_SECONDS):
    """Hold the lock of a history file: runs sharing it append one at a time."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(history.with_name(f".{history.name}.lock")), timeout=timeout)
    try:
        with lock:
            yield
    except Timeout:
        raise PublishError(f"{history}: another gapkit run has held its lock for {timeout:.0f} s; if no other run is "
                           f"publishing, delete {lock.lock_file} and run again.") from None


@contextmanager
def signals_held():
    """SIGINT and SIGTERM wait until the block is done, then act (only the main thread can do this)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in dict.fromkeys(caught):
            signal.raise_signal(s)


def aside_name(folder: Path) -> Path:
    """Where the previous report waits during a publish (a later run removes it if this one dies)."""
    return folder.with_name(f".{folder.name}.old-{os.getpid()}")


def swap_in(staging: Path, target: Target, history_file: Path | None, step=lambda name: None) -> None:
    """Publish: the old report aside (to :func:`aside_name`), ``staging`` in its place,
    ``history_file`` over the history.

    All or none: a failing rename undoes the ones before it and raises :class:`OSError`; SIGINT
    and SIGTERM wait until the renames are done. ``step(name)`` is called before each rename and
    with "published" once all are done (before a held signal acts), so a caller knows what
    happened and tests can stop a run at each step.
    """
    folder = target.folder
    old = aside_name(folder) if folder.exists() else None
    with signals_held():
        done: list[tuple[Path, Path]] = []
        try:
            if old is not None:
                step("old report aside")
                os.replace(folder, old)
                done.append((folder, old))
            step("new report in place")
            os.replace(staging, folder)
            done.append((staging, folder))
            if history_file is not None:
                step("history replaced")
                os.replace(history_file, target.history)
        except BaseException:
            for source, moved in reversed(done):
                os.replace(moved, source)
            raise
        step("published")


def describe_os_error(error: OSError) -> str:
    reason = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
              errno.EBUSY: "the folder is busy, e.g. a mount point", errno.EACCES: "permission denied",
              errno.EPERM: "operation not permitted", errno.EDQUOT: "the disk quota is used up"}
    text = reason.get(error.errno, error.strerror or type(error).__name__)
    where = error.filename or ""
    return f"{where}: {text}" if where else text
