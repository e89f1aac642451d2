"""The only module that writes files: every artefact goes temp file → fsync → rename (RELIABILITY.md §0.1)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import ConfigError, RunLocked, StorageError

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: mkstemp creates 0600 files, final files get the usual 0666 & ~umask


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some filesystems do not allow opening directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in the destination's directory; on success fsync it and rename it to `path`.

    On any error the temporary file is removed, the previous file at `path` (if any) is untouched, and a folder
    this call created for it is removed again while it is empty (a full disk left an empty probes/ or figures/).
    """
    path = Path(path)
    created = path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not created
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    os.chmod(tmp, 0o666 & ~_UMASK)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as e:
        _undo(tmp, path.parent if created else None)
        raise StorageError(f"could not write {path}: {e.strerror or e}") from e
    except BaseException:
        _undo(tmp, path.parent if created else None)
        raise


def _undo(tmp: Path, created: Path | None) -> None:
    tmp.unlink(missing_ok=True)
    if created is not None:
        with contextlib.suppress(OSError):  # not empty (another writer's file): kept
            created.rmdir()


def check_free_space(directory: str | os.PathLike, need: int, what: str) -> None:
    """StorageError before writing `what` when the filesystem has less than `need` bytes free."""
    import shutil

    directory = Path(directory)
    probe = next((p for p in (directory, *directory.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free
    if free < need:
        raise StorageError(f"not enough free space to write {what} in {directory}: needs ~{need / 2**20:.1f} MB, "
                           f"{free / 2**20:.1f} MB free; files written before are intact")


def available_memory() -> int:
    """Bytes of memory the OS says are available (MemAvailable), or total physical memory as a fallback."""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(name: str, value: object, need: int, hint: str = "", share: float = 0.5) -> None:
    """Refuse a request whose results need more than `share` of the available memory, before any work."""
    have = available_memory()
    if need > share * have:
        raise ConfigError(name, value, f"a request that fits in memory: it needs ~{need / 2**30:.1f} GiB, "
                          f"{share:.0%} of the {have / 2**30:.1f} GiB available is allowed{hint}")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: object) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save a matplotlib figure atomically (the format follows the file suffix)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png", bbox_inches="tight")
    return path


def sha256_file(path: str | os.PathLike) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_tensors(path: str | os.PathLike, tensors: dict) -> Path:
    """Atomic safetensors file (no pickle: loading never runs code)."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # safetensors recreates the file 0600; every other file is 0644 (umask)
    return Path(path)


def save_npz(path: str | os.PathLike, **arrays) -> Path:
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return Path(path)


def load_npz(path: str | os.PathLike, rebuild: str = "") -> dict:
    """Every array of an .npz file (snapshots, probes), loaded; a truncated, damaged or missing file is one
    FactordiffError naming it and `rebuild` (what to do), not a BadZipFile traceback."""
    import zipfile

    import numpy as np

    from .errors import FactordiffError

    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise FactordiffError(f"{path}: unreadable array file ({type(e).__name__}: {e}); it is damaged or "
                              f"truncated: {rebuild or 'delete it and rerun the command that wrote it'}") from None


def append_jsonl(path: str | os.PathLike, row: dict) -> None:
    """One JSON object per line, flushed; a reader skips a partial last line after a crash."""
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
    except OSError as e:
        raise StorageError(f"could not append to {path}: {e.strerror or e}") from e


def read_jsonl(path: str | os.PathLike, rebuild: str = "") -> list[dict]:
    """The JSON objects of a JSON-lines file ([] when it does not exist). Exactly one kind of damage is
    tolerated: a last line without its newline that does not parse (an append cut by a crash). Any other line
    that is not a JSON object raises DamagedFileError naming the file, the line and `rebuild` (how to rebuild
    it), instead of being dropped."""
    from .errors import DamagedFileError

    p = Path(path)
    if not p.exists():
        return []
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        how = rebuild or "rebuild it with the command that wrote it"
        raise DamagedFileError(f"{p}: not UTF-8 text: a damaged file; {how}") from None
    lines = text.split("\n")
    cut = lines.pop()  # "" when the file ends with a newline; otherwise a last line without one
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            row, why = None, f"not JSON ({e.msg})"
        else:
            why = f"JSON but not an object ({type(row).__name__})"
        if not isinstance(row, dict):
            raise DamagedFileError(f"{p}, line {i}: {why}; only a crash-cut last line is skipped, so the file is "
                                   f"damaged; {rebuild or 'rebuild it with the command that wrote it'}")
        rows.append(row)
    if cut.strip():
        try:
            row = json.loads(cut)
        except json.JSONDecodeError:
            return rows  # an append cut by a crash
        if isinstance(row, dict):
            rows.append(row)
    return rows


def truncate_jsonl(path: str | os.PathLike, max_step: int, rebuild: str = "") -> None:
    """Keep only rows with step <= max_step (on resume, so no row is duplicated); a damaged line other than a
    crash-cut last one is an error (`read_jsonl`), never dropped by the rewrite."""
    p = Path(path)
    if p.exists():
        rows = [r for r in read_jsonl(p, rebuild) if r.get("step", 0) <= max_step]
        atomic_write_text(p, "".join(json.dumps(r) + "\n" for r in rows))


_HELD: dict[str, int] = {}  # run directories whose lock this process holds → nesting depth


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike):
    """An exclusive flock on RUN/.lock for as long as the block runs; another process gets RunLocked naming
    the holder. Re-entrant within one process (a sweep worker holds it around train + analyse)."""
    run_dir = Path(run_dir)
    key = str(run_dir.resolve())
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    f = open(run_dir / ".lock", "a+")  # noqa: SIM115 - held for the whole block
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip() or "another process"
        f.close()
        raise RunLocked(f"run {run_dir} is locked by {holder}: another process is training or analysing it; "
                        "wait for it to finish (or stop it) and rerun") from None
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()} on {os.uname().nodename}")
    f.flush()
    _HELD[key] = 1
    try:
        yield
    finally:
        del _HELD[key]
        fcntl.flock(f, fcntl.LOCK_UN)
        f.close()


def lock_free(run_dir: str | os.PathLike) -> bool:
    """True when no process holds RUN/.lock (a 'running' status with a free lock was interrupted)."""
    path = Path(run_dir) / ".lock"
    if str(Path(run_dir).resolve()) in _HELD:
        return False
    if not path.exists():
        return True
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
        return True


def clean_temp_files(root: str | os.PathLike, *, recursive: bool = True) -> int:
    """Remove `.tmp-*` debris left under `root` (or only in it: `recursive=False`) by a process killed mid-write
    (call under the run lock)."""
    import shutil

    n = 0
    found = Path(root).rglob(".tmp-*") if recursive else Path(root).glob(".tmp-*")
    for p in sorted(found, key=lambda p: len(p.parts)):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
            n += 1
        elif p.exists() or p.is_symlink():
            p.unlink(missing_ok=True)
            n += 1
    return n


def jsonable(obj):
    """numpy arrays and scalars → lists and numbers, recursively (tuples → lists, keys → str)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    import numpy as np

    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
