"""explain on real error reports from public threads (tests/fixtures/reports, see its README): the share of
positives named right first and the share of look-alikes diagnosed at all, on the held-out part and on the
whole corpus. The figures are printed; the bars are the ones the README states."""

from __future__ import annotations

import pytest

from vlmcompat.explain import score

RIGHT_FIRST_AT_LEAST = 0.90
FALSE_ALARMS_AT_MOST = 0.10


@pytest.fixture(scope="module")
def outcomes() -> list[score.Outcome]:
    return score.run(score.load())


def test_the_corpus_is_what_the_readme_describes(outcomes):
    reports = [o.report for o in outcomes]
    assert len(reports) >= 150
    negatives = [r for r in reports if r.label is None]
    assert len(negatives) >= len(reports) / 3
    assert {r.split for r in reports} == {"tune", "heldout"}
    assert sum(r.split == "heldout" for r in reports) >= 0.25 * len(reports)
    from vlmcompat import known_issues
    assert {r.label for r in reports if r.label} <= set(known_issues.IDS)


@pytest.mark.parametrize("part", ["heldout", "all"])
def test_right_first_and_false_alarms_meet_the_bar(outcomes, part, capsys):
    chosen = [o for o in outcomes if part == "all" or o.report.split == part]
    result = score.score(chosen)
    with capsys.disabled():
        print(f"\nexplain on {part} reports: right first {result.right_first}/{result.positives} "
              f"({result.right_share:.1%}), false alarms {result.alarms}/{result.negatives} ({result.alarm_share:.1%})")
    table = score.summary(outcomes) + "\n\n" + score.per_label(outcomes)
    assert result.right_share >= RIGHT_FIRST_AT_LEAST, table
    assert result.alarm_share <= FALSE_ALARMS_AT_MOST, table


@pytest.mark.parametrize("readme", [score.REPORTS / "README.md", score.REPORTS.parents[2] / "README.md"])
def test_the_readmes_quote_the_current_figures(outcomes, readme):
    assert score.summary(outcomes) in readme.read_text(), (f"update the table in {readme}: "
                                                           "python -m vlmcompat.explain.score")


def test_the_score_command_prints_the_tables(capsys):
    assert score.main([]) == 0
    out = capsys.readouterr().out
    assert "| heldout " in out and "| label " in out and "null (negatives)" in out


def test_the_score_command_refuses_a_folder_without_reports(tmp_path, capsys):
    assert score.main([str(tmp_path)]) == 2
    assert "no reports" in capsys.readouterr().err
