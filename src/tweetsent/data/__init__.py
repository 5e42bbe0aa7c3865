"""Data: presets, reading and streaming tables, label sets, tweet normalisation, the split."""

from tweetsent.data.presets import PRESETS, resolve_data_config
from tweetsent.data.reading import LabelledData, load_labelled, load_texts, read_table
from tweetsent.data.split import stratified_split
from tweetsent.data.streaming import read_table_chunks

__all__ = [
    "PRESETS",
    "LabelledData",
    "load_labelled",
    "load_texts",
    "read_table",
    "read_table_chunks",
    "resolve_data_config",
    "stratified_split",
]
