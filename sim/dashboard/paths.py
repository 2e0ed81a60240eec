"""Safe paths under the results root: only sweep folders below it can be opened.

Symlinks are resolved before the check, so a link pointing outside the root is refused;
loops and over-long paths give a message (a ``ValueError``), never a traceback.
"""

from __future__ import annotations

from pathlib import Path


def _shown(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def resolve_under(root: str | Path, candidate: str | Path) -> Path:
    """``candidate`` (absolute, or relative to ``root``) if it really lies under ``root``.

    Symlinks are resolved first, so a link pointing outside the root is refused.

    Raises:
        ValueError: the path leaves the results root (``../..``, a symlink out), loops,
            or cannot be resolved (too long): a message for the user.
    """
    shown = _shown(str(candidate))
    try:
        root_path = Path(root).resolve()
        path = Path(candidate)
        path = (path if path.is_absolute() else root_path / path).resolve(strict=False)
        path.exists()  # an over-long path fails here rather than later
    except RuntimeError:
        raise ValueError(f"{shown}: a symlink loop") from None
    except OSError as exc:
        raise ValueError(f"{shown}: cannot be opened ({exc.strerror or exc})") from None
    except ValueError as exc:  # e.g. an embedded NUL byte
        raise ValueError(f"{shown}: not a valid path ({exc})") from None
    if path != root_path and root_path not in path.parents:
        raise ValueError(f"{shown}: only folders under the results root {root_path} can be opened")
    return path


def summary_under(root: str | Path, candidate: str | Path) -> Path:
    """The sweep folder ``candidate`` under ``root``, with its summary.parquet under it too.

    Raises:
        ValueError: the folder or its summary file (e.g. a symlink) leaves the results root.
    """
    folder = resolve_under(root, candidate)
    summary = folder / "summary.parquet"
    try:
        linked = summary.is_symlink() or summary.exists()
    except OSError as exc:
        raise ValueError(f"{_shown(str(candidate))}: cannot be opened ({exc.strerror})") from None
    if linked:
        resolve_under(root, summary)
    return folder


def find_sweeps(root: str | Path, limit: int = 200) -> list[str]:
    """Sweep folders under the results root holding a summary.parquet (relative paths).

    Summaries that are symlinks out of the root, and folders that cannot be read, are left out.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        return []
    found = []
    try:
        for path in sorted(root_path.rglob("summary.parquet")):
            try:
                folder = summary_under(root_path, path.parent)
            except ValueError:
                continue
            found.append(str(folder.relative_to(root_path.resolve())))
            if len(found) >= limit:
                break
    except OSError:
        pass
    return found


def newest_sweep(root: str | Path, found: list[str]) -> str | None:
    """The most recently written of ``found`` (by its summary's time), None if none."""
    best, best_time = None, -1.0
    for rel in found:
        try:
            t = (Path(root) / rel / "summary.parquet").stat().st_mtime
        except OSError:
            continue
        if t > best_time:
            best, best_time = rel, t
    return best


def screen_message(problem: BaseException | str, root: str | Path) -> str:
    """A problem as one line for the screen: folders relative to the results root.

    The server's own paths (the root, resolved or as configured) become "the results root";
    an exception without a message says so in words, never by its class name.
    """
    text = str(problem).strip()
    line = text.splitlines()[0] if text else "an unexpected problem (details in the server log)"
    for prefix in sorted({str(Path(root).resolve()), str(root)}, key=len, reverse=True):
        line = line.replace(prefix + "/", "").replace(prefix, "the results root")
    return line if len(line) <= 300 else line[:297] + "..."
