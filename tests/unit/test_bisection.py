"""bisect: the search over releases with an injected outcome, the release list, the command."""

from __future__ import annotations

import pytest
from packaging.version import Version

from vlmcompat import bisection, cli
from vlmcompat.errors import EnvironmentProblem, UsageError

V = [Version(v) for v in ["4.27.0", "4.28.0", "4.28.1", "4.29.0", "4.30.0", "4.30.2", "4.31.0", "4.32.0", "4.33.0",
                          "4.34.0"]]


def step_outcome(first: str, before="fail (model-class-missing)", after="pass", calls=None):
    def outcome(version):
        if calls is not None:
            calls.append(str(version))
        return after if version >= Version(first) else before
    return outcome


@pytest.mark.parametrize("first", ["4.28.0", "4.29.0", "4.31.0", "4.33.0", "4.34.0"])
def test_search_finds_the_first_changed_release(first):
    result = bisection.search(V, step_outcome(first))
    assert str(result.first_changed) == first
    assert result.last_good == V[V.index(Version(first)) - 1]
    assert (result.good, result.changed_to) == ("fail (model-class-missing)", "pass")
    assert result.exact


def test_search_is_logarithmic_and_reports_each_step():
    calls, steps = [], []
    bisection.search(V, step_outcome("4.31.0", calls=calls), steps.append)
    assert len(calls) <= 2 + 4  # two ends + ceil(log2(8))
    assert [str(s.version) for s in steps] == calls
    assert len(set(calls)) == len(calls)


def test_search_reports_the_outcome_at_the_boundary_when_three_outcomes_follow():
    def outcome(version):  # unexpected -> duplicate (4.31) -> pass (4.33)
        if version < Version("4.31.0"):
            return "fail (inputs-embeds-unexpected)"
        return "fail (inputs-embeds-duplicate)" if version < Version("4.33.0") else "pass"
    result = bisection.search(V, outcome)
    assert str(result.first_changed) == "4.31.0"
    assert result.changed_to == "fail (inputs-embeds-duplicate)" and result.bad == "pass"


def test_search_skips_releases_that_do_not_install():
    base = step_outcome("4.31.0")

    def outcome(version):
        return None if str(version) in ("4.30.0", "4.30.2") else base(version)
    result = bisection.search(V, outcome)
    assert str(result.first_changed) == "4.31.0"
    assert str(result.last_good) == "4.29.0"
    assert not result.exact
    assert [str(v) for v in result.skipped] == ["4.30.0", "4.30.2"]


def test_search_refuses_an_empty_change_and_an_untestable_end():
    with pytest.raises(UsageError, match="nothing to bisect"):
        bisection.search(V, lambda v: "pass")
    with pytest.raises(EnvironmentProblem, match="did not install"):
        bisection.search(V, lambda v: None if v == V[0] else "pass")


def test_final_releases_drop_pre_dev_yanked_and_empty():
    data = {"releases": {
        "4.52.0": [{"yanked": True}], "4.52.1": [{"yanked": False}], "4.51.3": [{"yanked": False}],
        "4.53.0rc1": [{"yanked": False}], "5.0.0.dev0": [{"yanked": False}], "4.10.0": [{"yanked": False}],
        "4.50.0": [], "not-a-version": [{"yanked": False}],
    }}
    assert [str(v) for v in bisection.final_releases(data)] == ["4.10.0", "4.51.3", "4.52.1"]


def test_between_is_inclusive_and_checks_the_ends():
    assert bisection.between(V, "4.28.1", "4.31.0") == V[2:7]
    with pytest.raises(UsageError, match=r"4\.30\.1 is not a final release.*4\.30\.0, 4\.30\.2"):
        bisection.between(V, "4.30.1", "4.31.0")
    with pytest.raises(UsageError, match="must be an older release"):
        bisection.between(V, "4.31.0", "4.28.0")


def test_probe_outcome_uses_its_cache_without_building(tmp_path):
    cache = tmp_path / "outcomes.json"
    cache.write_text('{"4.31.0": "pass", "4.30.0": null}')
    outcome = bisection.ProbeOutcome("transformers", "model-class", "instructblip-t5", cache_file=cache)
    assert outcome(Version("4.31.0")) == "pass"
    assert outcome(Version("4.30.0")) is None


def test_cli_rejects_bad_versions(capsys):
    assert cli.main(["bisect", "--probe", "model-class", "--good", "four", "--bad", "4.31.0"]) == 2
    assert "--good 'four' is not a version" in capsys.readouterr().err
