"""Checksummed, atomic, resumable downloads into snnlib's data cache (chapter 2, *Data and training*).

Only an explicit call downloads anything; importing snnlib never touches the network.

* Files land in :func:`cache_dir`: ``$SNNLIB_DATA`` if set, else the user's cache directory
  (``$XDG_CACHE_HOME/snnlib``, by default ``~/.cache/snnlib``).
* A download streams into ``<name>.part`` and becomes ``<name>`` only after its sha256
  matched (md5 where the publisher lists only that), by an atomic rename: an interrupted or corrupt download never looks complete.
* A ``.part`` left by an interrupted download is resumed with an HTTP ``Range`` request when
  the server allows it (206), and restarted otherwise.
* A file placed by hand is accepted when its checksum matches; every failure names the
  dataset, the URL, the expected checksum and where to put the file by hand.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import zipfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..progress import progress_bar

CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file of a dataset.

    Attributes:
        dataset: the dataset's name, used in messages and as the cache sub-folder.
        filename: the file's name in the cache.
        url: where it is downloaded from.
        sha256: its expected sha256 (lower-case hex); or, where the publisher lists only an
            md5 (tonic's datasets), ``md5`` instead. Exactly one is given.
    """

    dataset: str
    filename: str
    url: str
    sha256: str = ""
    md5: str = ""

    def __post_init__(self):
        if bool(self.sha256) == bool(self.md5):
            raise ValueError(f"{self.dataset}/{self.filename}: give exactly one of sha256 and md5")
        digits = {"sha256": 64, "md5": 32}[self.algorithm]
        if len(self.checksum) != digits or any(c not in "0123456789abcdef" for c in self.checksum):
            raise ValueError(f"{self.dataset}/{self.filename}: {self.algorithm} must be {digits} lower-case hex "
                             f"digits; got {self.checksum!r}")

    @property
    def algorithm(self) -> str:
        return "sha256" if self.sha256 else "md5"

    @property
    def checksum(self) -> str:
        return self.sha256 or self.md5


class DownloadError(RuntimeError):
    """A dataset file could not be obtained or did not match its checksum."""


def cache_dir() -> Path:
    """Where datasets are stored (created on demand by :func:`fetch`): ``$SNNLIB_DATA``, else
    ``$XDG_CACHE_HOME/snnlib``, else ``~/.cache/snnlib``."""
    if os.environ.get("SNNLIB_DATA", "").strip():
        return Path(os.environ["SNNLIB_DATA"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache").expanduser() / "snnlib"


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """The sha256 (or another ``hashlib`` digest, e.g. md5) of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


sha256sum = file_digest  # the name this function had first (public)


def _manual_hint(remote: RemoteFile, target: Path) -> str:
    return (f"To place it by hand, download {remote.url} and save it as {target} "
            f"({remote.algorithm} {remote.checksum}); set SNNLIB_DATA to use another folder.")


class _Truncated(OSError):
    """The server closed the connection before sending everything it announced."""


class _NotTheFile(OSError):
    """The server answered with something else than the file (a web page)."""


def _stream(remote: RemoteFile, part: Path, timeout: float, progress: bool) -> None:
    """Append the remote file to ``part``, resuming from its current size when the server allows."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(remote.url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the .part may already be complete
            return
        raise
    with response:
        if "text/html" in response.headers.get("Content-Type", "") and not remote.filename.endswith((".html", ".htm")):
            # e.g. Google Drive's "quota exceeded" or "cannot scan for viruses" page: not the file
            raise _NotTheFile("the server sent a web page instead of the file (for Google Drive files: the "
                              "download quota may be exhausted for today, or the link needs a browser)")
        content_range = response.headers.get("Content-Range", "")
        resumed = bool(have) and getattr(response, "status", None) == 206 and content_range.startswith(f"bytes {have}-")
        mode = "ab" if resumed else "wb"  # a server that ignores Range sends everything again
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        total = expected + (have if resumed else 0) if expected is not None else None
        written = 0
        bar = progress_bar(total=total, initial=have if resumed else 0, unit="B", unit_scale=True,
                           desc=f"{remote.dataset}/{remote.filename}", leave=False, show=progress)
        try:
            with open(part, mode) as f:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    f.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
        finally:
            bar.close()
        if expected is not None and written < expected:
            raise _Truncated(f"the connection closed after {written} of {expected} bytes")


def fetch(remote: RemoteFile, root: Path | None = None, *, timeout: float = 60.0, progress: bool = True) -> Path:
    """The verified local path of ``remote``, downloading it if it is not there yet.

    Raises:
        DownloadError: when the file cannot be downloaded or its checksum does not match;
            nothing that looks complete is left behind.
    """
    folder = (root or cache_dir()) / remote.dataset
    target = folder / remote.filename
    if target.exists():
        got = file_digest(target, remote.algorithm)
        if got == remote.checksum:
            return target
        target.unlink()  # a complete-looking file with the wrong content is worse than none
        raise DownloadError(f"{remote.dataset}: {target} has {remote.algorithm} {got}, expected {remote.checksum}; "
                            f"removed it. {_manual_hint(remote, target)}")
    folder.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        _stream(remote, part, timeout, progress)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        kept = (f"A partial download is kept in {part} and resumed next time. "
                if part.exists() and part.stat().st_size else "")
        raise DownloadError(f"{remote.dataset}: could not download {remote.url} ({exc}). {kept}"
                            f"{_manual_hint(remote, target)}") from exc
    got = file_digest(part, remote.algorithm)
    if got != remote.checksum:
        part.unlink()
        raise DownloadError(f"{remote.dataset}: {remote.url} gave a file with {remote.algorithm} {got}, expected "
                            f"{remote.checksum}; removed it. {_manual_hint(remote, target)}")
    os.replace(part, target)  # atomic: the name appears only with verified content
    return target


def extract(archive: Path, into: Path, *, marker: str = ".extracted", replace: bool = True) -> Path:
    """Unpack a verified ``.zip``/``.tar*`` archive into ``into``; a truncated or damaged archive
    raises :class:`DownloadError`. Done once: the file ``marker`` in ``into`` is written last.

    ``replace=True`` unpacks into a staging folder that then replaces ``into`` atomically.
    ``replace=False`` adds the contents to ``into``, which may hold other archives' files (tonic's
    folders); an interrupted unpacking is redone next time, because its marker is missing.
    """
    done = into / marker
    if done.exists():
        return into
    target = into.with_name(into.name + ".partial") if replace else into
    if replace:
        shutil.rmtree(target, ignore_errors=True)
    try:
        shutil.unpack_archive(str(archive), str(target))
    except (shutil.ReadError, tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        if replace:
            shutil.rmtree(target, ignore_errors=True)
        raise DownloadError(f"{archive} could not be unpacked ({exc}); delete it and download it again") from exc
    (target / marker).write_text(archive.name)
    if replace:
        shutil.rmtree(into, ignore_errors=True)
        os.replace(target, into)
    return into
