import json
import subprocess
import sys

import pytest

from vlmcompat.cli import main


def test_help_does_not_import_torch():
    code = "import sys; from vlmcompat.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("vlmcompat ")


def test_probe_bad_timeout_is_one_line_exit_2(capsys):
    assert main(["probe", "--timeout", "0"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "vlmcompat: error: --timeout must be positive, got 0"


def test_probe_unknown_family_is_one_line_exit_2(capsys):
    assert main(["probe", "--family", "gpt-5-vision"]) == 2
    assert "unknown family 'gpt-5-vision'; choose from: instructblip-t5" in capsys.readouterr().err


def test_probe_list(capsys):
    assert main(["probe", "--list"]) == 0
    out = capsys.readouterr().out
    assert "training-step" in out and "families: instructblip-t5, instructblip-llama" in out


@pytest.mark.slow
def test_probe_end_to_end_here(tmp_path, capsys):
    """The probes on the installed (newest) stack: native diagnoses and patched passes."""
    out = tmp_path / "cell.json"
    code = main(["probe", "--family", "instructblip-t5", "--family", "instructblip-llama", "--probe", "peft-wrapper",
                 "--probe", "image-tokens", "--probe", "training-step", "--json", str(out), "--strict"])
    assert code == 0
    data = json.loads(out.read_text())
    by_key = {(r["probe"], r["family"], r["mode"]): r for r in data["results"]}
    assert len(by_key) == 12
    for (_probe, _family, mode), result in by_key.items():
        if mode == "patched":
            assert result["status"] == "pass", result
    # transformers >= 4.55 has no legacy path: a checkpoint without image_token_id fails natively
    import transformers

    if hasattr(transformers.InstructBlipForConditionalGeneration, "get_placeholder_mask"):
        native = by_key[("image-tokens", "instructblip-t5", "native")]
        assert (native["status"], native["issue"]) == ("fail", "image-token-expansion")
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("[") and "/12] ✅ training-step" in line for line in lines)


def test_a_named_command_imports_only_its_own_module():
    """``vlmcompat probe`` (every matrix cell, reused ones included) does not pay for the other commands."""
    import subprocess
    import sys

    code = ("import sys\nfrom vlmcompat import cli\nparser = cli.build_parser(only='probe')\n"
            "print(sorted(m for m in sys.modules if m.startswith('vlmcompat.commands.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['vlmcompat.commands.probe']"
