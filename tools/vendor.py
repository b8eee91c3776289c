"""Fetch the browser assets the book serves itself, so the built site needs no CDN.

``_vendor/static/`` (git-ignored; served as the site's ``_static/``) receives
``plotly.min.js`` (copied from the installed plotly package), MathJax 3, require.js and the
ipywidgets HTML manager (from the npm registry, each tarball checked against the sha512 in
``tools/vendor.lock.json``); ``_vendor/pages/`` holds files copied to the site root. The folder is built
beside the target and renamed into place, and ``_vendor/.complete`` is written last, so an
interrupted run never leaves a folder that looks finished. ``make`` calls this.
"""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "_vendor"
LOCK = Path(__file__).with_name("vendor.lock.json")


def sri(path: Path) -> str:
    """Subresource-integrity string (``sha512-<base64>``), as npm reports it."""
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def npm_pack(spec: str, dest: Path) -> Path:
    if shutil.which("npm") is None:
        sys.exit(f"vendor: npm is needed to fetch {spec} from the npm registry; install Node.js/npm")
    out = subprocess.run(
        ["npm", "pack", "--silent", "--json", spec],
        cwd=dest, capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"vendor: `npm pack {spec}` failed:\n{out.stderr.strip()}")
    return dest / json.loads(out.stdout)[0]["filename"]


def copy_from(package: Path, pattern: str, target: Path) -> None:
    matches = sorted(package.glob(pattern))
    if not matches:
        sys.exit(f"vendor: {pattern!r} not found in {package.name}")
    for src in matches:
        dst = target / src.name if "*" in pattern else target
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


def main() -> None:
    lock = json.loads(LOCK.read_text())
    with tempfile.TemporaryDirectory(dir=ROOT, prefix="._vendor-") as tmp:
        tmp = Path(tmp)
        staging = tmp / "_vendor"
        staging.mkdir()
        import plotly

        (staging / "static").mkdir()
        shutil.copyfile(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", staging / "static" / "plotly.min.js")
        for spec, entry in lock["npm"].items():
            tarball = npm_pack(spec, tmp)
            got = sri(tarball)
            if got != entry["integrity"]:
                sys.exit(f"vendor: {spec} failed its checksum: expected {entry['integrity']}, got {got}")
            unpacked = tmp / tarball.stem
            with tarfile.open(tarball) as tar:
                if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.10.12
                    tar.extractall(unpacked, filter="data")
                else:  # checksum-verified tarball; refuse absolute or parent paths all the same
                    if any(m.name.startswith("/") or ".." in Path(m.name).parts for m in tar.getmembers()):
                        sys.exit(f"vendor: {spec} contains unsafe paths")
                    tar.extractall(unpacked)
            for pattern, rel in entry["copy"].items():
                copy_from(unpacked / "package", pattern, staging / rel)
            print(f"vendor: {spec} ok ({tarball.stat().st_size / 1e6:.1f} MB, sha512 verified)")
        (staging / ".complete").write_text(json.dumps({"plotly": plotly.__version__, **{k: v["integrity"] for k, v in lock["npm"].items()}}))
        if VENDOR.exists():
            shutil.rmtree(VENDOR)
        staging.rename(VENDOR)
    print(f"vendor: {VENDOR.relative_to(ROOT)}/ ready (plotly.js from plotly {plotly.__version__})")


if __name__ == "__main__":
    main()
