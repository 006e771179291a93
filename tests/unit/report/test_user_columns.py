"""The summary names the user's checkpoint under its family and gives the user's command
(probe ``run``) its own column beside the environment."""

from __future__ import annotations

from vlmcompat.report import ENVIRONMENT_LABEL, summary
from vlmcompat.results import ENVIRONMENT, CellResult, Mode, ProbeResult, Status


def result(probe, family, mode, status, issue=None, model=None):
    return ProbeResult(probe, family, Mode(mode), Status(status), issue=issue, model=model)


CELL = CellResult("t4.44.2", {"transformers": "4.44.2"}, results=[
    result("peft-wrapper", "blip2-t5", "native", "fail", "inputs-embeds-unexpected", model="my-blip2"),
    result("peft-wrapper", "blip2-t5", "patched", "pass", model="my-blip2"),
    result("peft-import", ENVIRONMENT, "native", "pass"),
    result("peft-import", ENVIRONMENT, "patched", "pass"),
    result("run", ENVIRONMENT, "native", "fail", "inputs-embeds-unexpected"),
    result("run", ENVIRONMENT, "patched", "pass"),
])


def test_the_run_probe_has_its_own_column_and_the_environment_keeps_the_rest():
    cols = summary.columns([CELL])
    assert cols == [("blip2-t5<br><sub>my-blip2</sub>", "blip2-t5"), (ENVIRONMENT_LABEL, None),
                    (summary.RUN_LABEL, summary.RUN_COLUMN)]
    assert summary.family_entry(CELL, None) == "✅"
    run = summary.family_entry(CELL, summary.RUN_COLUMN)
    assert run.startswith("❌ 1 → ✅") and "inputs-embeds-unexpected" in run


def test_without_a_command_there_is_no_run_column():
    cell = CellResult("c", results=[r for r in CELL.results if r.probe != "run"])
    assert [header for header, _ in summary.columns([cell])] == ["blip2-t5<br><sub>my-blip2</sub>",
                                                                  ENVIRONMENT_LABEL]


def test_many_families_split_into_even_tables_each_with_every_cell():
    from vlmcompat import tiny

    names = list(tiny.FAMILIES)[:14]
    cells = [CellResult(name, {"transformers": "5.24.0"}, results=[
        *(result("peft-wrapper", family, mode, "pass") for family in names for mode in ("native", "patched")),
        result("peft-import", ENVIRONMENT, "native", "pass"), result("peft-import", ENVIRONMENT, "patched", "pass"),
    ]) for name in ("a", "b")]
    groups = summary.column_groups(cells)
    assert [len(g) for g in groups] == [8, 7]  # 7 families + the environment, then 7 families
    assert [family for g in groups for _, family in g if family] == names
    assert groups[0][-1] == (ENVIRONMENT_LABEL, None)
    text = summary.render(cells)
    assert text.count("| a<br>") == 2 and text.count("| b<br>") == 2
    assert max(line.count("|") for line in text.splitlines()) - 1 <= 1 + summary.MAX_FAMILIES + 2
    few = summary.column_groups([CELL])
    assert len(few) == 1 and summary.render([CELL]).count("| t4.44.2") == 1
