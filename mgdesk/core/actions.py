"""Removing files safely: to the OS trash or a chosen folder, journaled before and after, undoable.
Undo takes back the journal's last action, a "not duplicates" decision included.

Nothing is ever deleted outright and nothing is ever overwritten: moves and restores pick a
non-clobbering name. The journal row is written BEFORE a file moves and updated AFTER, so an
action interrupted by a crash is reconciled at the next start (`reconcile`) and can still be undone.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

from mgdesk.core.store import NOT_DUPLICATE, ActionRecord, FileStatus, Repository

log = logging.getLogger(__name__)


class ActionError(Exception):
    """An action refused or failed; str() is a one-line message for the user."""


class SameFileError(ActionError):
    pass


class WholeGroupError(ActionError):
    pass


class RestoreNotSupported(ActionError):
    pass


def non_clobbering(path: Path) -> Path:
    """`path` if free, else 'name (2).ext', 'name (3).ext', …"""
    path = Path(path)
    if not os.path.lexists(path):
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        if not os.path.lexists(candidate):
            return candidate
        n += 1


def move_no_clobber(src: Path, dst: Path) -> Path:
    """Move a file to `dst` (or a free variant of it) without ever replacing an existing file."""
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        dst = non_clobbering(dst)
        try:
            os.link(src, dst)  # fails if dst exists: no race with another writer
        except FileExistsError:
            continue
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EOPNOTSUPP):
                raise
            _copy_exclusive(src, dst)
        os.unlink(src)
        return dst
    raise ActionError(f"could not find a free name for {dst}")


def _copy_exclusive(src: Path, dst: Path) -> None:
    with open(src, "rb") as fin, open(dst, "xb") as fout:
        shutil.copyfileobj(fin, fout, 1024 * 1024)
        fout.flush()
        os.fsync(fout.fileno())
    shutil.copystat(src, dst)
    if os.path.getsize(src) != os.path.getsize(dst):
        os.unlink(dst)
        raise ActionError(f"copy of {src} to {dst} is incomplete; the original was kept")


def distinct_files(paths: Iterable[str | Path]) -> list[Path]:
    """Absolute paths, refusing two names of the same file (hard link, symlink, case variant)."""
    seen: dict[tuple[int, int], Path] = {}
    out = []
    for p in paths:
        path = Path(os.path.abspath(os.fspath(p)))
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise ActionError(f"no such file: {path}") from None
        except OSError as e:
            raise ActionError(f"cannot read {path}: {e.strerror}") from None
        if not os.path.isfile(path):
            raise ActionError(f"not a file: {path}")
        if os.path.islink(path):  # moving the link would leave the photo where it is
            raise ActionError(f"{path} is a link to {os.path.realpath(path)}: remove the photo itself")
        key = (st.st_dev, st.st_ino)
        if key in seen:
            raise SameFileError(f"{path} and {seen[key]} are the same file; refusing to treat it as two")
        seen[key] = path
        out.append(path)
    return out


def check_not_whole_group(paths: Sequence[Path], groups: Iterable[Iterable[str | Path]],
                          as_scanned: Callable[[str], bool] = os.path.exists) -> None:
    """Refuse when the paths would remove every remaining member of a duplicate group.

    A member stays only where ``as_scanned`` says it is still the file that was grouped: one
    replaced by another photo since (same name, other content) is no copy of anything."""
    removing = {os.path.abspath(os.fspath(p)) for p in paths}
    for group in groups:
        members = {os.path.abspath(os.fspath(m)) for m in group}
        if not members & removing:
            continue
        staying = members - removing
        left = [m for m in staying if as_scanned(m)]
        if not left:
            if staying:  # the user did keep one, but it is not what was grouped any more
                names = ", ".join(sorted(os.path.basename(m) for m in staying))
                raise WholeGroupError(f"the copy that would stay ({names}) is no longer where it was, or "
                                      "has changed (moved, renamed, replaced or edited since the groups were "
                                      "listed); nothing was moved. Rescan, then choose again")
            names = ", ".join(sorted(os.path.basename(m) for m in members))
            raise WholeGroupError(f"refusing to remove every copy of one photo ({names}); keep at least one")


def as_scanned(repo: Repository, path: str) -> bool:
    """Whether the file at ``path`` is still the one the library scanned there (any file, when
    the library has no record of the path)."""
    rec = repo.file_by_path(path)
    return os.path.exists(path) if rec is None else rec.as_scanned()


def check_removal(repo: Repository, files: Sequence[Path], groups: Iterable[Iterable[str | Path]]) -> None:
    """check_not_whole_group with the library's records: what stays must be what was scanned."""
    check_not_whole_group(files, groups, lambda m: as_scanned(repo, m))


# ---- the OS trash --------------------------------------------------------------------------
def _xdg_home_trash() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")) / "Trash"


def _sync_send2trash_env() -> None:
    """send2trash reads XDG_DATA_HOME once at import; keep it in step with ours (tests change it)."""
    if sys.platform.startswith("linux"):
        from send2trash import plat_other
        data = os.path.expanduser(os.environb.get(b"XDG_DATA_HOME", b"~/.local/share"))
        plat_other.XDG_DATA_HOME = data
        plat_other.HOMETRASH_B = os.path.join(data, b"Trash")
        plat_other.HOMETRASH = os.fsdecode(plat_other.HOMETRASH_B)


def _freedesktop_trash_dirs(original: Path) -> list[Path]:
    dirs = [_xdg_home_trash()]
    mount = Path(os.path.realpath(original.parent))
    while not os.path.ismount(mount) and mount != mount.parent:
        mount = mount.parent
    uid = os.getuid()
    dirs += [mount / ".Trash" / str(uid), mount / f".Trash-{uid}"]
    return [d for d in dirs if (d / "info").is_dir()]


def _trashinfo_path(info: Path, trash_dir: Path) -> str | None:
    try:
        text = info.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("Path="):
            value = unquote(line[5:])
            # Trash dirs on other volumes store the path relative to the volume's top directory.
            return value if os.path.isabs(value) else str(trash_dir.parent.parent / value
                                                          if trash_dir.name.isdigit() else trash_dir.parent / value)
    return None


def find_in_trash(original: Path, hint: str | None = None) -> tuple[Path, Path] | None:
    """(file in trash, its .trashinfo) for a file trashed from `original` (freedesktop, newest first)."""
    if hint:
        info = Path(hint)
        trash_dir = info.parent.parent
        payload = trash_dir / "files" / info.name[: -len(".trashinfo")]
        if info.exists() and os.path.lexists(payload):
            return payload, info
    if sys.platform.startswith("linux") or os.name == "posix" and sys.platform != "darwin":
        candidates = []
        for trash_dir in _freedesktop_trash_dirs(original):
            for info in (trash_dir / "info").glob("*.trashinfo"):
                if _trashinfo_path(info, trash_dir) == str(original):
                    payload = trash_dir / "files" / info.name[: -len(".trashinfo")]
                    if os.path.lexists(payload):
                        candidates.append((info.stat().st_mtime, payload, info))
        if candidates:
            _, payload, info = max(candidates)
            return payload, info
    return None


def _find_in_macos_trash(original: Path, size: int | None) -> Path | None:
    trash = Path.home() / ".Trash"
    if not trash.is_dir():
        return None
    stem, suffix = original.stem, original.suffix
    matches = [p for p in trash.iterdir() if p.name == original.name or
               (p.name.startswith(stem) and p.suffix == suffix)]
    matches = [p for p in matches if size is None or p.stat().st_size == size]
    return max(matches, key=lambda p: p.stat().st_mtime) if matches else None


def _send_to_trash(path: Path) -> tuple[str | None, str | None]:
    """Trash one file; return (where it went, its trashinfo) when the platform lets us know."""
    from send2trash import send2trash
    _sync_send2trash_env()
    send2trash(str(path))
    if sys.platform == "darwin" or os.name == "nt":
        return None, None
    found = find_in_trash(path)
    return (str(found[0]), str(found[1])) if found else (None, None)


# ---- actions -------------------------------------------------------------------------------
def remove_files(repo: Repository, paths: Sequence[str | Path], destination: str | Path | None = None,
                 groups: Iterable[Iterable[str | Path]] = ()) -> ActionRecord:
    """Move files to the OS trash (destination None) or into `destination`; journaled; undoable.

    Refuses two names of one file and removing every member of any group in `groups`.
    """
    files = distinct_files(paths)
    if not files:
        raise ActionError("no files given")
    check_removal(repo, files, groups)
    dest = None
    if destination is not None:
        dest = Path(os.path.abspath(os.fspath(destination)))
        if dest.exists() and not dest.is_dir():
            raise ActionError(f"not a folder: {dest}")
        dest.mkdir(parents=True, exist_ok=True)
    items = []
    for f in files:
        rec = repo.file_by_path(str(f))
        items.append((str(f), rec.hash if rec else None, os.path.getsize(f)))
    action_id = repo.create_action("move" if dest else "trash", str(dest) if dest else None, items)
    action = repo.action(action_id)
    failures = 0
    for item in action.items:
        src = Path(item.original_path)
        try:
            if dest is not None:
                moved = move_no_clobber(src, dest / src.name)
                where, info = str(moved), None
            else:
                where, info = _send_to_trash(src)
        except Exception as e:  # one failure must not stop the rest; it is journaled
            failures += 1
            log.warning("could not remove %s: %s", src, e)
            with repo.transaction():
                repo.mark_item(item.id, error=str(e) or type(e).__name__)
            continue
        with repo.transaction():
            repo.mark_item(item.id, done=1, destination_path=where, trash_info=info)
            rec = repo.file_by_path(str(src))
            if rec is not None:
                repo.set_status([rec.id], FileStatus.MISSING)
                if rec.hash:
                    repo.add_decision(rec.hash, "removed", str(src), action_id)
    with repo.transaction():
        repo.set_action_state(action_id, "done")
    result = repo.action(action_id)
    if failures and not result.done_items:
        raise ActionError(f"nothing was removed: {result.items[0].error}")
    return result


def undo_last(repo: Repository) -> ActionRecord | None:
    """Take back the last action: put its files back at their original paths (or a free name
    beside them), or lift the not-duplicate pairs it added (those an earlier action had decided
    stay decided)."""
    with repo.transaction():  # read and, for a decision, undone in one go
        action = repo.last_undoable_action()
        if action is None:
            return None
        if action.kind == NOT_DUPLICATE:
            repo.forget_not_duplicates(action.id)
            repo.mark_action_items(action.id, undone=1)
            repo.set_action_state(action.id, "undone")
            return replace(repo.action(action.id), undone_now=tuple(i.original_path for i in action.items))
    if action.kind == "trash" and os.name == "nt":
        raise RestoreNotSupported("restoring from the Windows Recycle Bin is not supported: use "
                                  "'Restore' in the Recycle Bin for: "
                                  + ", ".join(i.original_path for i in action.done_items))
    problems, now = [], []
    for item in reversed(action.items):
        if not item.done or item.undone:
            continue
        original = Path(item.original_path)
        try:
            if action.kind == "move":
                src = Path(item.destination_path or "")
                if not (src.is_file() or src.is_symlink()):  # a moved link may dangle there
                    raise ActionError(f"{src} is no longer there")
            elif sys.platform == "darwin":
                src = _find_in_macos_trash(original, item.size)
                if src is None:
                    raise ActionError(f"{original.name} is not in the Trash any more")
            else:
                found = find_in_trash(original, item.trash_info)
                if found is None:
                    raise ActionError(f"{original.name} is not in the trash any more")
                src = found[0]
            restored = move_no_clobber(src, original)
            if action.kind == "trash" and sys.platform != "darwin" and found is not None:
                found[1].unlink(missing_ok=True)
        except (ActionError, OSError) as e:
            problems.append(f"{original}: {e}")
            with repo.transaction():
                repo.mark_item(item.id, error=f"undo: {e}")
            continue
        with repo.transaction():
            repo.mark_item(item.id, undone=1, restored_path=str(restored))
            _restore_row(repo, original, restored, item.hash)
        now.append(item.original_path)
    if not problems:
        with repo.transaction():
            repo.set_action_state(action.id, "undone")
    # what could not be restored stays journaled and undoable: once the file is back where
    # the journal says (renamed back, returned to the trash), undo tries it again
    elif not now:
        raise ActionError("nothing could be restored: " + "; ".join(problems)
                          + " (put it back and run undo again)")
    return replace(repo.action(action.id), undone_now=tuple(reversed(now)))


def _restore_row(repo: Repository, original: Path, restored: Path, content: str | None) -> None:
    """The library's record of a file put back. The record at its old path is the file's own only
    while it is still missing with the file's content: once a scan gave that path to a newer file,
    moving the record would put the newer file's content on this one (and let the newer file's
    copies be trashed as "duplicates" of it). Then the file put back gets a record of its own,
    pending, which the next scan reads."""
    st = os.stat(restored)
    rec = repo.file_by_path(str(original))
    if rec is None or rec.status != FileStatus.MISSING or (content is not None and rec.hash != content):
        if repo.file_by_path(str(restored)) is None:
            repo.insert_file({"path": str(restored), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                              "dev": st.st_dev, "ino": st.st_ino, "status": FileStatus.PENDING})
        return
    values = {"status": FileStatus.OK if rec.error_reason is None else FileStatus.ERROR,
              "dev": st.st_dev, "ino": st.st_ino}
    # the record's size and time stay as scanned: a file that had changed before it was removed
    # (replaced by another photo, not rescanned) then differs from them, and the next scan reads
    # it instead of keeping the old content's hash and vector on it. Until then it is in no group
    # (FileRecord.as_scanned)
    if restored != original:
        values["path"] = str(restored)
    repo.update_file(rec.id, **values)


def reconcile(repo: Repository) -> list[ActionRecord]:
    """Settle actions a crash interrupted: mark what had really moved, so undo can bring it back."""
    settled = []
    for action in repo.actions(states=["pending"]):
        with repo.transaction():
            for item in action.items:
                if item.done:
                    continue
                original = Path(item.original_path)
                if original.exists():
                    continue  # never moved
                where, info = None, None
                if action.kind == "move" and action.destination:
                    candidate = Path(action.destination) / original.name
                    where = str(candidate) if candidate.exists() else None
                else:
                    found = find_in_trash(original)
                    if found:
                        where, info = str(found[0]), str(found[1])
                repo.mark_item(item.id, done=1 if where or action.kind == "trash" else 0,
                               destination_path=where, trash_info=info)
                rec = repo.file_by_path(str(original))
                if rec is not None:
                    repo.set_status([rec.id], FileStatus.MISSING)
            repo.set_action_state(action.id, "interrupted")
        settled.append(repo.action(action.id))
        log.warning("reconciled interrupted action %d", action.id)
    return settled


__all__ = ["ActionError", "RestoreNotSupported", "SameFileError", "WholeGroupError", "check_not_whole_group",
           "distinct_files", "find_in_trash", "move_no_clobber", "non_clobbering", "reconcile", "remove_files",
           "undo_last"]
