"""Data: presets, reading and streaming tables, label sets, tweet normalisation, the split."""

# Lazy (PEP 562): the presets are needed to build the command line and pandas is not; importing
# it here would cost every command, even a usage error, a second of start-up.
_WHERE = {
    "PRESETS": "presets",
    "resolve_data_config": "presets",
    "LabelledData": "reading",
    "load_labelled": "reading",
    "load_texts": "reading",
    "read_table": "reading",
    "stratified_split": "split",
    "read_table_chunks": "streaming",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'tweetsent.data' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"tweetsent.data.{_WHERE[name]}"), name)
