import pytest
from packaging.version import Version

from vlmcompat import versions


def test_installed_reads_metadata():
    assert isinstance(versions.installed("packaging"), Version)
    assert versions.installed("surely-not-installed-package-xyz") is None


@pytest.mark.parametrize(
    "spec, version, expected",
    [
        (">=4.27,<4.52", "4.44.0", True),
        (">=4.27,<4.52", "4.52.0", False),
        (">=4.55", "5.0.0rc1", True),  # pre-releases count as their release
        ("<4.31", "4.30.2", True),
        ("<4.31", "4.31.0", False),
    ],
)
def test_in_range(spec, version, expected):
    assert versions.in_range("transformers", spec, version) is expected


def test_stack_versions_has_python_and_stack():
    stack = versions.stack_versions()
    assert set(stack) == {"python", "torch", "transformers", "tokenizers", "peft", "trl"}
