"""snnlib.stats: seed summaries, paired intervals and the computed readings."""
import math

import pytest

from snnlib import stats


def test_mean_std_is_the_sample_deviation():
    mean, sd = stats.mean_std([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert sd == pytest.approx(math.sqrt(5 / 3))
    assert math.isnan(stats.mean_std([7.0])[1])


def test_paired_interval_by_hand():
    a, b = [3.0, 5.0, 4.0, 6.0], [1.0, 2.0, 2.0, 3.0]
    p = stats.paired_difference(a, b)
    d = [2.0, 3.0, 2.0, 3.0]
    sd = math.sqrt(sum((x - 2.5) ** 2 for x in d) / 3)
    half = 3.182446305284263 * sd / 2  # t_{0.975, 3}
    assert (p.mean, p.n, p.wins) == (2.5, 4, 4)
    assert p.low == pytest.approx(2.5 - half) and p.high == pytest.approx(2.5 + half)
    assert p.verdict() == 1
    assert stats.paired_difference(b, a).verdict() == -1


def test_pairing_removes_the_shared_seed_effect():
    # a large seed-to-seed spread shared by both variants: unpaired it would hide the
    # constant +1, paired it does not
    base = [10.0, 50.0, 30.0, 70.0, 20.0]
    p = stats.paired_difference([x + 1 for x in base], base)
    assert p.low == p.high == 1.0


def test_compare_reads_the_result():
    results = {
        "none": [80.0, 82.0, 81.0, 79.0, 83.0],
        "better": [85.0, 86.0, 86.0, 84.0, 88.0],
        "same": [81.0, 81.0, 80.0, 80.0, 82.0],
        "worse": [70.0, 71.0, 72.0, 69.0, 70.0],
    }
    text, readings = stats.compare(results, "none")
    assert text.count("\n") == 5 and "seed 4" in text and "mean ± std" in text
    assert readings[0].startswith("better is better than none")
    assert readings[1].startswith("same is not distinguishable from none")
    assert readings[2].startswith("worse is worse than none")
    # a loss: lower is better
    _, readings = stats.compare(results, "none", higher_is_better=False)
    assert readings[0].startswith("better is worse than none")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: stats.paired_difference([1.0, 2.0], [1.0]), "one value per seed"),
        (lambda: stats.paired_difference([1.0], [2.0]), "at least 2 seeds"),
        (lambda: stats.paired_difference([1.0, 2.0], [1.0, 3.0], confidence=95), "confidence"),
        (lambda: stats.mean_std([]), "at least one value"),
        (lambda: stats.mean_std([1.0, float("nan")]), "NaN"),
        (lambda: stats.compare({"a": [1.0, 2.0]}, "b"), "baseline 'b'"),
        (lambda: stats.compare({"a": [1.0, 2.0], "b": [1.0]}, "a"), "same seeds"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_show_markdown_prints_outside_a_notebook(capsys):
    from snnlib import viz

    text, _ = stats.compare({"a": [1.0, 2.0], "b": [2.0, 3.0]}, "a")
    viz.show_markdown(text)
    assert capsys.readouterr().out.strip() == text
    with pytest.raises(TypeError, match="expects a str"):
        viz.show_markdown(["not", "text"])
