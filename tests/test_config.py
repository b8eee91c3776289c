import pytest

from snnlib import config


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


def test_every_chapter_defines_the_same_keys_in_every_profile():
    for chapter, by_profile in config.CHAPTER_SETTINGS.items():
        assert sorted(by_profile) == sorted(config.PROFILE_NAMES), chapter
        keys = {name: set(values) for name, values in by_profile.items()}
        assert len({frozenset(k) for k in keys.values()}) == 1, (chapter, keys)


def test_ci_is_never_larger_than_book():
    for chapter, by_profile in config.CHAPTER_SETTINGS.items():
        for key, ci_value in by_profile["ci"].items():
            book_value = by_profile["book"][key]
            if isinstance(ci_value, (int, float)) and book_value is not None:  # None: no limit
                assert ci_value <= book_value, (chapter, key)


def test_chapter_settings_follow_the_profile(clean_profile):
    clean_profile.setenv("SNNLIB_PROFILE", "ci")
    ci = config.chapter_settings("00_getting_started")
    assert ci["steps"] == config.CHAPTER_SETTINGS["00_getting_started"]["ci"]["steps"]
    book = config.chapter_settings("00_getting_started", "book")
    assert book["steps"] > ci["steps"]


def test_chapter_settings_are_read_only():
    settings = config.chapter_settings("00_getting_started", "ci")
    with pytest.raises(TypeError):
        settings["steps"] = 1  # type: ignore[index]


def test_unknown_chapter_lists_known_ones():
    with pytest.raises(KeyError, match="00_getting_started"):
        config.chapter_settings("99_nothing")


def test_describe_names_profile_data_and_device():
    text = config.describe("ci")
    assert "'ci'" in text and "offline" in text and f"device: {config.device()}" in text
    assert "real datasets" in config.describe("paper")
