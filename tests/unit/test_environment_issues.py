"""Issues below the HF stack (every affected range names other packages): pyarrow against NumPy.
The probes name them instead of blaming peft or trl (tests/cells/test_sweep_fixes.py has the real cell)."""

from vlmcompat import known_issues


def test_pyarrow_against_numpy_is_an_environment_issue_not_a_peft_import_one():
    text = ("RuntimeError: Failed to import transformers.trainer because of the following error (look up to see "
            "its traceback):\npyarrow requires NumPy 2.0 or newer, found 1.26.4")
    assert known_issues.environment_issue(text) == "pyarrow-numpy-abi"
    assert known_issues.get("pyarrow-numpy-abi").possible({"pyarrow": "26.0.1", "numpy": "1.26.4"})
    assert not known_issues.get("pyarrow-numpy-abi").possible({"pyarrow": "26.0.1", "numpy": "2.4.6"})
    assert known_issues.environment_issue("ImportError: cannot import name 'EncoderDecoderCache' from "
                                          "'transformers'") is None  # peft's own imports: peft-import


def test_the_older_pyarrow_under_numpy_2_is_the_same_issue_only_when_pyarrow_says_so():
    pyarrow = ("A module that was compiled using NumPy 1.x cannot be run in\nNumPy 2.0.0 as it may crash.\n"
               '  File "/x/site-packages/pyarrow/__init__.py", line 65, in <module>\n    import pyarrow.lib as _lib\n'
               "AttributeError: _ARRAY_API not found\n")
    assert known_issues.environment_issue(pyarrow) == "pyarrow-numpy-abi"
    assert known_issues.environment_issue(pyarrow.replace("pyarrow", "cv2")) is None  # any old extension says it
    assert known_issues.get("pyarrow-numpy-abi").possible({"pyarrow": "15.0.2", "numpy": "2.0.0"})
