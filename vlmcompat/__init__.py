"""vlmcompat: version-compatibility diagnostics and fixes for fine-tuning vision-language models.

Importing this package is cheap: torch, transformers and peft are imported only inside the
functions that need them. ``import vlmcompat.patch`` installs the version-aware fixes.
"""

__version__ = "0.1.0"
