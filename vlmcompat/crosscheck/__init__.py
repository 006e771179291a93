"""Cross-release artifacts: what one cell writes (an adapter, a checkpoint, a processor) and another
cell reads back, checked against the writer's reference; and the adapter key layouts that differ.

Modules: :mod:`.artifacts` (where and what), :mod:`.families` (models, processors), :mod:`.writer`,
:mod:`.reader`, :mod:`.run` (reader results in the cell schema), :mod:`.layouts` and :mod:`.migrate`
(adapter keys between releases).
"""
