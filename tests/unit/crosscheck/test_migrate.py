"""`vlmcompat adapter migrate`: an adapter folder rewritten for another release, tensors untouched, or refused
with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlmcompat import cli
from vlmcompat.crosscheck import migrate
from vlmcompat.errors import MigrationError, UsageError

torch = pytest.importorskip("torch")
from safetensors.torch import load_file, save_file

KEYS = json.loads((Path(__file__).parent / "adapter_keys.json").read_text())
CONFIG = {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"],
          "base_model_name_or_path": "", "task_type": "CAUSAL_LM"}


def adapter(folder: Path, keys: list[str], config: dict | None = None) -> dict[str, object]:
    folder.mkdir(parents=True)
    tensors = {k: torch.full((2, 2), float(i)) for i, k in enumerate(keys)}
    save_file(tensors, str(folder / migrate.WEIGHTS), metadata={"format": "pt"})
    (folder / migrate.CONFIG).write_text(json.dumps(config or CONFIG))
    (folder / "README.md").write_text("model card")
    return tensors


def test_an_adapter_of_4_52_is_written_with_the_keys_4_51_saves(tmp_path):
    tensors = adapter(tmp_path / "in", KEYS["llava"]["t4.52.4"])
    result = migrate.migrate_adapter(tmp_path / "in", tmp_path / "out", "transformers==4.51.3")
    out = load_file(str(tmp_path / "out" / migrate.WEIGHTS))
    assert sorted(out) == KEYS["llava"]["t4.51.3"]
    assert len(result.renamed) == 16 and result.layout == "legacy"
    for old, new in result.renamed.items():
        assert torch.equal(out[new], tensors[old])
    assert json.loads((tmp_path / "out" / migrate.CONFIG).read_text()) == CONFIG
    assert (tmp_path / "out" / "README.md").read_text() == "model card"


def test_an_adapter_already_in_the_target_layout_is_copied_unchanged(tmp_path):
    adapter(tmp_path / "in", KEYS["llava"]["t5.0.0"])
    result = migrate.migrate_adapter(tmp_path / "in", tmp_path / "out", "4.57.6")
    assert not result.changed
    assert sorted(load_file(str(tmp_path / "out" / migrate.WEIGHTS))) == KEYS["llava"]["t5.0.0"]


def test_a_qwen_adapter_needs_its_model_type_and_then_round_trips(tmp_path):
    adapter(tmp_path / "in", KEYS["qwen2-vl"]["t4.51.3"])
    with pytest.raises(MigrationError, match="pass --model-type"):
        migrate.migrate_adapter(tmp_path / "in", tmp_path / "out", "transformers==5.24.0")
    assert not (tmp_path / "out").exists()
    migrate.migrate_adapter(tmp_path / "in", tmp_path / "new", "transformers==5.24.0", "qwen2_vl")
    assert sorted(load_file(str(tmp_path / "new" / migrate.WEIGHTS))) == KEYS["qwen2-vl"]["t5.24.0"]
    migrate.migrate_adapter(tmp_path / "new", tmp_path / "old", "transformers==4.51.3", "qwen2_vl")
    assert sorted(load_file(str(tmp_path / "old" / migrate.WEIGHTS))) == KEYS["qwen2-vl"]["t4.51.3"]


def test_the_base_models_config_tells_the_model_type(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"model_type": "qwen2_vl"}))
    adapter(tmp_path / "in", KEYS["qwen2-vl"]["t4.51.3"], dict(CONFIG, base_model_name_or_path=str(base)))
    result = migrate.migrate_adapter(tmp_path / "in", tmp_path / "out", "transformers==4.52.4")
    assert result.kind == "qwen-vl" and len(result.renamed) == 8


def test_a_target_modules_pattern_naming_a_moved_part_is_refused(tmp_path):
    adapter(tmp_path / "in", KEYS["llava"]["t4.51.3"], dict(CONFIG, target_modules=r".*language_model.*\.q_proj"))
    with pytest.raises(MigrationError, match="target_modules is a pattern"):
        migrate.migrate_adapter(tmp_path / "in", tmp_path / "out", "transformers==4.52.4")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("spec", "message"), [("peft==0.17.1", "only transformers decides"),
                                               ("transformers==four", "not a version")])
def test_a_bad_target_is_one_line(spec, message):
    with pytest.raises(UsageError, match=message):
        migrate.parse_target(spec)


def test_the_command_says_what_it_renamed_and_refuses_with_exit_1(tmp_path, capsys):
    adapter(tmp_path / "in", KEYS["llava"]["t5.24.0"])
    assert cli.main(["adapter", "migrate", str(tmp_path / "in"), str(tmp_path / "out"),
                     "--for", "transformers==4.51.3"]) == 0
    out = capsys.readouterr().out
    assert "16 keys renamed for transformers 4.51.3 (llava, flat -> legacy layout)" in out
    assert cli.main(["adapter", "migrate", str(tmp_path / "missing"), str(tmp_path / "x")]) == 2
    assert "no adapter_model.safetensors" in capsys.readouterr().err
