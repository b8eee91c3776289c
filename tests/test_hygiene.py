"""The book's house rules: TOC and notebooks agree, notebooks are clean, chapter heads are
current, the environment files agree, and the Colab install cell does what it says."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import chapter
import deps

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return files


def notebooks() -> list[Path]:
    return sorted(BOOK.rglob("*.ipynb"))


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def source(cell: dict) -> str:
    return "".join(cell["source"])


# --- table of contents ---------------------------------------------------------------

def test_every_toc_entry_exists():
    for entry in toc_files():
        matches = [p for p in (ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb")) if p.exists()]
        assert len(matches) == 1, f"_toc.yml entry {entry!r} should match exactly one .md or .ipynb file"


def test_every_notebook_is_in_the_toc():
    listed = set(toc_files())
    missing = [p.relative_to(ROOT).with_suffix("").as_posix() for p in notebooks()]
    missing = [name for name in missing if name not in listed]
    assert not missing, f"notebooks not in _toc.yml: {missing}"


def test_chapters_are_numbered_in_reading_order():
    chapters = [Path(f).name for f in toc_files() if re.match(r"\d\d_", Path(f).name)]
    assert chapters == sorted(chapters)


# --- notebooks ------------------------------------------------------------------------

@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name} cell {i} has outputs"
            assert cell["execution_count"] is None, f"{path.name} cell {i} has an execution count"
    assert "widgets" not in load(path)["metadata"], f"{path.name} carries saved widget state"


@pytest.mark.parametrize("path", chapter.chapters(), ids=lambda p: p.name)
def test_chapter_imports_snnlib_and_has_a_colab_badge(path):
    cells = load(path)["cells"]
    code = "\n".join(source(c) for c in cells if c["cell_type"] == "code")
    assert re.search(r"^\s*(import snnlib|from snnlib\b)", code, re.M), f"{path.name} does not import snnlib"
    assert source(cells[0]) == chapter.badge_markdown(path.name), f"{path.name} must open with its Colab badge"
    assert "remove-cell" in cells[0]["metadata"].get("tags", [])


def test_chapter_heads_are_current():
    assert chapter.stale_heads() == [], "run `python tools/chapter.py fix`"


@pytest.mark.parametrize("path", chapter.chapters(), ids=lambda p: p.name)
def test_chapter_layout(path):
    cells = load(path)["cells"]
    markdown = "\n".join(source(c) for c in cells if c["cell_type"] == "markdown")
    for heading in ("**What you will build.**", "**Prerequisites.**", "**Run time.**",
                    "## Summary", "## Exercises", "## References"):
        assert heading in markdown, f"{path.name} lacks {heading!r}"
    tags = [t for c in cells for t in c["metadata"].get("tags", [])]
    assert "remove-cell" in tags[1:], f"{path.name} has no hidden check cell"


def test_new_chapter_template_passes_the_same_rules(tmp_path):
    nb = chapter.template("42_demo.ipynb", "Demo")
    assert source(nb["cells"][0]) == chapter.badge_markdown("42_demo.ipynb")
    assert any(source(c) == chapter.install_source() for c in nb["cells"])
    assert all(c.get("outputs", []) == [] for c in nb["cells"])


# --- the Colab install cell -------------------------------------------------------------

def run_install_cell(monkeypatch, snnlib_importable: bool) -> list[list[str]]:
    """Execute the install cell with pip replaced by a recorder; return the pip commands."""
    import importlib.util

    calls = []
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "snnlib":
            return real_find_spec(name) if snnlib_importable else None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append((cmd, kw)))
    exec(compile(chapter.install_source(), "<install cell>", "exec"), {})
    return calls


def test_install_cell_does_nothing_when_snnlib_is_importable(monkeypatch):
    assert run_install_cell(monkeypatch, snnlib_importable=True) == []


def test_install_cell_installs_without_touching_torch(monkeypatch):
    calls = run_install_cell(monkeypatch, snnlib_importable=False)
    commands = [cmd for cmd, _ in calls]
    assert all(kw == {"check": True} for _, kw in calls)
    assert all(cmd[:4] == [sys.executable, "-m", "pip", "install"] for cmd in commands)
    first, second = commands
    assert "--no-deps" in first and deps.without_deps()[0] in first
    repo = chapter.repository()
    assert second[-1] == f"snnlib[spikingjelly,chapters] @ git+{repo['url']}@{repo['branch']}"
    assert not any("torch" in arg for cmd in commands for arg in cmd)


def test_colab_links_come_from_config():
    url = chapter.colab_url("00_getting_started.ipynb")
    repo = chapter.repository()["url"].removeprefix("https://github.com/")
    assert url == f"https://colab.research.google.com/github/{repo}/blob/main/book/00_getting_started.ipynb"


# --- environment files ------------------------------------------------------------------

def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert sorted(pip) == sorted(deps.requirements()), "environment.yml pip list != pyproject dependencies + extras"
    # packages installed with --no-deps are documented there, never listed as plain requirements
    text = (ROOT / "environment.yml").read_text()
    for spec in deps.without_deps():
        assert f"pip install --no-deps {spec}" in text
        assert _name(spec) not in {_name(r) for r in pip}


def test_torch_is_never_pinned_to_one_version():
    torch_reqs = [r for r in deps.requirements() if _name(r) == "torch"]
    assert torch_reqs == ["torch>=2.2"], "an exact torch pin would fight Colab's and the GPU machines' builds"
    assert all(_name(r) not in {"torchvision", "torchaudio"} for r in deps.requirements())


# --- dependencies say what is used ----------------------------------------------------------

def _distributions(module: str) -> set[str]:
    """The installed distributions that provide top-level ``module`` (empty for the stdlib)."""
    import importlib.metadata

    if module in sys.stdlib_module_names or module == "__future__":
        return set()
    names = importlib.metadata.packages_distributions().get(module)
    assert names, f"no installed distribution provides the module {module!r}"
    return {_name(n) for n in names}


def _top_level_imports(source: str) -> set[str]:
    """Modules imported by statements at the top of ``source`` (not inside functions)."""
    import ast

    found = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _extra(name: str) -> set[str]:
    return {_name(r) for r in deps.pyproject()["project"]["optional-dependencies"][name]}


# Modules that exist only for an optional dependency; nothing imports them at the top.
OPTIONAL_BACKENDS = {"snnlib/kernels/triton.py": "triton"}


def test_what_snnlib_imports_at_the_top_is_a_core_dependency():
    core = {_name(r) for r in deps.pyproject()["project"]["dependencies"]}
    for path in sorted((ROOT / "snnlib").rglob("*.py")):
        source = path.read_text()
        assert not re.search(r"^(from \.+ import triton|from \.?triton import|import snnlib\.kernels\.triton)",
                             source, re.M), f"{path.relative_to(ROOT)} imports the optional Triton backend at the top"
        optional = OPTIONAL_BACKENDS.get(str(path.relative_to(ROOT)))
        for module in _top_level_imports(source) - {"snnlib", optional}:
            missing = _distributions(module) - core
            assert not missing, f"{path.relative_to(ROOT)} imports {module} at the top: {sorted(missing)} must be " \
                                "a core dependency (or the import moves into the function that needs it)"


def test_what_the_chapters_import_is_installed_by_the_colab_cell():
    installed = ({_name(r) for r in deps.pyproject()["project"]["dependencies"]} | _extra("spikingjelly")
                 | _extra("chapters") | {_name(spec) for spec in deps.without_deps()} | {"snnlib"})
    for path in notebooks():
        cells = json.loads(path.read_text())["cells"]
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            code = "\n".join(line for line in "".join(cell["source"]).splitlines() if not line.startswith(("%", "!")))
            for module in _top_level_imports(code) - {"snnlib"}:
                missing = _distributions(module) - installed
                assert not missing, f"{path.name} imports {module}: {sorted(missing)} belongs in the chapters extra"


# --- what a reader sees runs on what a reader sees ----------------------------------------------

def _bound_and_used(source: str) -> tuple[set[str], set[str]]:
    """Names a cell binds (assignments, defs, imports, arguments) and names it reads."""
    import ast

    bound, used = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound, used


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_visible_code_uses_only_what_visible_code_defined(path):
    # a reader copying the visible cells (solutions included) gets a notebook that runs
    import builtins

    visible = set(dir(builtins))
    for k, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code" or "remove-cell" in cell["metadata"].get("tags", []):
            continue
        bound, used = _bound_and_used("".join(cell["source"]))
        hidden = used - bound - visible
        assert not hidden, f"{path.name}, cell {k}: {sorted(hidden)} defined only in removed cells"
        visible |= bound


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_visible_code_fits_the_column(path):
    for k, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code" or "remove-cell" in cell["metadata"].get("tags", []):
            continue
        wide = [line for line in "".join(cell["source"]).splitlines() if len(line) > 80]
        assert not wide, f"{path.name}, cell {k}: lines over 80 characters (cut off in the book): {wide}"
