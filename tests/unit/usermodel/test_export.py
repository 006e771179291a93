"""``vlmcompat shrink DIR OUT``: a small copy that loads like the checkpoint, in its own format."""

from __future__ import annotations

import pytest

from vlmcompat import cli, tiny, usermodel
from vlmcompat.usermodel import folder

transformers = pytest.importorskip("transformers")
FIXTURES = folder.Path(__file__).parents[2] / "fixtures" / "checkpoints"


def test_the_copy_loads_with_from_pretrained_and_keeps_the_old_format(tmp_path):
    out = tmp_path / "tiny"
    assert cli.main(["shrink", str(FIXTURES / "blip2-flan-t5-xl-pre445"), str(out)]) == 0
    assert {"tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "config.json"} <= \
        {p.name for p in out.iterdir()}
    model = transformers.Blip2ForConditionalGeneration.from_pretrained(str(out))
    assert getattr(model.config, "image_token_index", None) is None  # saved before 4.45: still no id
    assert model.config.text_config.vocab_size == 32128 and model.config.text_config.d_model == 32
    assert len(transformers.AutoTokenizer.from_pretrained(str(out))) == 32100


def test_an_occupied_folder_is_refused(tmp_path, capsys):
    (tmp_path / "x").write_text("")
    assert cli.main(["shrink", str(FIXTURES / "blip2-opt-2.7b"), str(tmp_path)]) == 2
    assert "is not empty" in capsys.readouterr().err


def test_full_loads_the_folders_weights(tmp_path):
    import torch

    from vlmcompat.usermodel import Access

    out = tmp_path / "tiny"
    assert cli.main(["shrink", str(FIXTURES / "blip2-opt-2.7b"), str(out), "--seed", "3"]) == 0
    saved = transformers.Blip2ForConditionalGeneration.from_pretrained(str(out))
    usermodel.activate(out, Access(full=True))
    loaded = tiny.model("blip2-opt", image_token=True)
    assert all(torch.equal(a, b) for a, b in zip(saved.state_dict().values(), loaded.state_dict().values()))


def test_probe_refuses_an_unknown_architecture_in_one_line(tmp_path, capsys):
    (tmp_path / "config.json").write_text('{"architectures": ["MllamaForConditionalGeneration"]}')
    assert cli.main(["probe", "--model", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "vlmcompat has no family for MllamaForConditionalGeneration" in err
