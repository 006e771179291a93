"""``vlmcompat gate --requirements`` for the user's own situation: their checkpoint, their command,
whether their code imports vlmcompat.patch."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlmcompat import cli
from vlmcompat.commands import gate as gate_command
from vlmcompat.gate import Change, GateReport


def args(*argv: str):
    return cli.build_parser().parse_args(["gate", *argv])


def test_the_users_model_and_commands_become_probe_arguments(tmp_path):
    parsed = args("--requirements", "r.txt", "--model", str(tmp_path), "--full", "--run", "python train.py",
                  "--run", "pytest -x")
    assert gate_command.user_probe_args(parsed) == ["--model", str(tmp_path.resolve()), "--full",
                                                    "--run", "python train.py", "--run", "pytest -x",
                                                    "--run-in", str(Path.cwd())]
    assert gate_command.user_probe_args(args("--requirements", "r.txt")) == []


@pytest.mark.parametrize("argv", [["--baseline", "b.json", "--model", "x"], ["--baseline", "b.json", "--patched"],
                                  ["--run", "make"]])
def test_user_options_need_requirements(argv, capsys):
    assert cli.main(["gate", *argv]) == 2
    assert "use them with --requirements FILE" in capsys.readouterr().err


def test_a_failure_names_its_issue_the_fix_and_the_affected_releases():
    report = GateReport(regressions=[Change("requirements", "peft-wrapper", "instructblip-t5", "native", "",
                                            "fail (inputs-embeds-duplicate)", "your path fails",
                                            "inputs-embeds-duplicate")])
    gate_command.explain_changes(report)
    why = report.regressions[0].why
    assert why.startswith("your path fails. inputs-embeds-duplicate: inputs_embeds reaches the language model twice")
    assert "upgrade to transformers>=4.54" in why and "Affected: transformers>=4.52,<4.54" in why
