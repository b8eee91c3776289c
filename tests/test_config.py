from pathlib import Path

import pytest

from snnlib import config

ROOT = Path(__file__).resolve().parent.parent


def test_default_profile_is_book(clean_profile):
    assert config.get_profile().name == "book"


@pytest.mark.parametrize("name", ["ci", "book", "paper"])
def test_environment_selects_profile(clean_profile, name):
    clean_profile.setenv("SNNLIB_PROFILE", name)
    assert config.get_profile().name == name


def test_blank_environment_value_means_default(clean_profile):
    clean_profile.setenv("SNNLIB_PROFILE", "  ")
    assert config.get_profile().name == "book"


def test_unknown_profile_names_the_valid_ones(clean_profile):
    clean_profile.setenv("SNNLIB_PROFILE", "fast")
    with pytest.raises(ValueError) as err:
        config.get_profile()
    msg = str(err.value)
    assert "'fast'" in msg and "$SNNLIB_PROFILE" in msg
    for name in ("ci", "book", "paper"):
        assert name in msg


def test_unknown_profile_argument():
    with pytest.raises(ValueError, match="expected one of: ci, book, paper"):
        config.get_profile("Book")


def test_only_paper_uses_real_data():
    assert [p.name for p in config.PROFILES.values() if p.real_data] == ["paper"]


def test_pick_returns_the_active_profiles_value():
    assert config.get_profile("ci").pick(ci=1, book=2, paper=3) == 1
    assert config.get_profile("paper").pick(ci=1, book=2, paper=3) == 3


def test_pick_requires_every_profile():
    with pytest.raises(TypeError, match="needs a value for each profile"):
        config.get_profile("ci").pick(ci=1, book=2)


def _value(node):
    """A size's value: the literal, or the source text of an expression (a nested ``dict(...)``,
    a configuration from the library), which is compared by key but not by size."""
    import ast

    try:
        return ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)


def chapter_sizes() -> dict[str, dict[str, dict]]:
    """Each chapter's ``config.per_profile(ci=..., book=..., paper=...)``, read from the notebook."""
    import ast
    import json

    found = {}
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            for node in ast.walk(ast.parse("".join(cell["source"]))):
                if isinstance(node, ast.Call) and ast.unparse(node.func) == "config.per_profile":
                    found[path.stem] = {kw.arg: {k.arg: _value(k.value) for k in kw.value.keywords}
                                        for kw in node.keywords}
        assert path.stem in found, f"{path.name} must declare its sizes with config.per_profile"
    return found


def test_every_chapter_declares_the_same_sizes_in_every_profile():
    for chapter, by_profile in chapter_sizes().items():
        assert sorted(by_profile) == sorted(config.PROFILE_NAMES), chapter
        assert len({frozenset(values) for values in by_profile.values()}) == 1, (chapter, by_profile)


def test_ci_is_never_larger_than_book():
    for chapter, by_profile in chapter_sizes().items():
        for key, ci_value in by_profile["ci"].items():
            book_value = by_profile["book"][key]
            if isinstance(ci_value, (int, float)) and book_value is not None:  # None: no limit
                assert ci_value <= book_value, (chapter, key)


def test_per_profile_follows_the_profile(clean_profile):
    sizes = dict(ci={"steps": 2}, book={"steps": 20}, paper={"steps": 200})
    clean_profile.setenv("SNNLIB_PROFILE", "ci")
    assert config.per_profile(**sizes)["steps"] == 2
    clean_profile.delenv("SNNLIB_PROFILE")
    assert config.per_profile(**sizes)["steps"] == 20  # book is the default
    assert config.per_profile("paper", **sizes)["steps"] == 200


def test_per_profile_is_read_only_and_complete():
    settings = config.per_profile("ci", ci={"steps": 2}, book={"steps": 20}, paper={"steps": 200})
    with pytest.raises(TypeError):
        settings["steps"] = 1  # type: ignore[index]
    with pytest.raises(TypeError, match=r"needs sizes for each profile \['ci', 'book', 'paper'\]; got \['book', 'ci'\]"):
        config.per_profile("ci", ci={"steps": 2}, book={"steps": 20})
    with pytest.raises(TypeError, match="every profile must define the same sizes"):
        config.per_profile("ci", ci={"steps": 2}, book={"steps": 20}, paper={"epochs": 3})


def test_the_library_knows_nothing_of_the_book():
    # no chapter names or notebook paths in snnlib: chapters declare their own sizes
    for path in (ROOT / "snnlib").rglob("*.py"):
        text = path.read_text()
        assert ".ipynb" not in text and "book/" not in text, path


def test_describe_names_profile_data_and_device():
    text = config.describe("ci")
    assert "'ci'" in text and "offline" in text and f"device: {config.device()}" in text
    assert "real datasets" in config.describe("paper")
