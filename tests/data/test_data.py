"""Loaders and presets on fixture files that reproduce each real format's quirks."""

import json

import pandas as pd
import pytest

from tweetsent.config import DataConfig
from tweetsent.data import (
    PRESETS,
    load_labelled,
    load_texts,
    read_table,
    resolve_data_config,
    stratified_split,
)
from tweetsent.errors import ConfigError, DataError

SMILE_LIKE = (
    '611857364396965889,"@a Merci pour le partage! @openwinemap",nocode\n'
    '614484565059596288,"Dorian Gray with Rainbow Scarf #LoveWins",happy\n'
    '614746522043973632,"It was entralling,\nsaid the artist!",happy\n'
    '614877582664835073,"thank you for following me back",happy|sad\n'
    '611932373039644672,"What a beautiful jewel",happy\n'
    '611932373039644673,"awful queue today",angry\n'
    '611932373039644674,"so slow and rude",angry\n'
)


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_smile_preset_drops_nocode_and_multilabel_and_keeps_embedded_newlines(tmp_path):
    path = write(tmp_path / "smile.csv", SMILE_LIKE)
    data = load_labelled(path, DataConfig(preset="smile"))
    assert data.labels == ["happy", "happy", "happy", "angry", "angry"]
    assert data.texts[1] == "It was entralling,\nsaid the artist!"
    assert data.dropped == {"multi-label": 1, "dropped label": 1}


def test_generic_options_reproduce_the_preset(tmp_path):
    path = write(tmp_path / "smile.csv", SMILE_LIKE)
    generic = DataConfig(
        header=False,
        columns=None,
        text_col="1",
        label_col="2",
        drop_labels=["nocode"],
        drop_multilabel="|",
    )
    assert (
        load_labelled(path, generic).labels
        == load_labelled(path, DataConfig(preset="smile")).labels
    )


def test_covid_preset_reads_latin1_with_bom(tmp_path):
    header = "UserName,ScreenName,Location,TweetAt,OriginalTweet,Sentiment\n"
    body = '1,2,NYC,2/3/2020,"caf\xe9 shelves empty\nagain",Negative\n3,4,,2/3/2020,fine,Positive\n'
    path = tmp_path / "covid.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (header + body).encode("latin-1"))
    data = load_labelled(path, DataConfig(preset="covid"))
    assert data.texts[0] == "caf\xe9 shelves empty\nagain"
    assert data.labels == ["Negative", "Positive"]


def test_invalid_utf8_falls_back_with_a_warning(tmp_path, caplog):
    path = tmp_path / "t.csv"
    path.write_bytes("text,label\n\u201cquoted\u201d caf\xe9,a\nplain,b\n".encode("cp1252"))
    with caplog.at_level("WARNING"):
        data = load_labelled(path, DataConfig(text_col="text", label_col="label"))
    assert data.texts[0] == "\u201cquoted\u201d caf\xe9"
    assert "not valid UTF-8" in caplog.text


def test_explicit_wrong_encoding_is_an_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("text,label\ncaf\xe9,a\n".encode("latin-1"))
    with pytest.raises(DataError, match="utf-8"):
        load_labelled(path, DataConfig(text_col="text", label_col="label", encoding="utf-8"))


def test_climate_preset_maps_numeric_labels_to_names(tmp_path):
    path = write(tmp_path / "c.csv", "sentiment,message,tweetid\n-1,hoax,1\n2,news,2\n1,act,3\n")
    data = load_labelled(path, DataConfig(preset="climate"))
    assert data.labels == ["anti", "news", "pro"]


def test_cola_preset_reads_tsv_without_header(tmp_path):
    text = 'gj04\t1\t\tOur friends won\'t buy this "analysis".\ngj04\t0\t*\tThey drank the pub.\n'
    path = write(tmp_path / "in_domain_train.tsv", text)
    data = load_labelled(path, DataConfig(preset="cola"))
    assert data.labels == ["acceptable", "unacceptable"]
    assert data.texts[0] == 'Our friends won\'t buy this "analysis".'


def test_a_tsv_with_standard_quoting_is_parsed_whole_and_streamed(tmp_path):
    from tweetsent.data.streaming import read_table_chunks

    texts = ['say "hi"', "two\nlines", "a\ttab", "plain"]
    frame = pd.DataFrame({"text": texts, "label": ["a", "b", "a", "b"]})
    path = tmp_path / "quoted.tsv"
    frame.to_csv(path, sep="\t", index=False)  # quotes the quote, the newline and the tab
    data = load_labelled(path, DataConfig(text_col="text", label_col="label"))
    assert data.texts == texts and data.labels == ["a", "b", "a", "b"] and not data.dropped
    chunks = list(read_table_chunks(path, DataConfig(text_col="text"), 2))
    assert [t for c in chunks for t in c["text"]] == texts


@pytest.mark.parametrize("fmt", ["tsv", "jsonl", "parquet"])
def test_other_formats_by_suffix(tmp_path, fmt):
    frame = pd.DataFrame({"tweet": ["good", "bad", "meh"], "y": [1, 0, 1]})
    path = tmp_path / f"d.{fmt}"
    if fmt == "tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in frame.to_dict("records")))
    else:
        frame.to_parquet(path)
    data = load_labelled(path, DataConfig(text_col="tweet", label_col="y"))
    assert data.texts == ["good", "bad", "meh"]
    assert data.labels == ["1", "0", "1"]


def test_rows_without_text_or_label_are_skipped_and_counted(tmp_path):
    path = write(tmp_path / "d.csv", "text,label\nhello,a\n,b\n   ,a\nbye,\nok,b\n")
    data = load_labelled(path, DataConfig(text_col="text", label_col="label"))
    assert data.texts == ["hello", "ok"]
    assert data.dropped == {"empty text": 2, "missing label": 1}


def test_limit_takes_the_first_usable_rows(tmp_path):
    path = write(tmp_path / "smile.csv", SMILE_LIKE)
    data = load_labelled(path, DataConfig(preset="smile"), limit=2)
    assert data.texts == [
        "Dorian Gray with Rainbow Scarf #LoveWins",
        "It was entralling,\nsaid the artist!",
    ]


def test_wrong_column_suggests_the_closest(tmp_path):
    path = write(tmp_path / "d.csv", "Sentiment,OriginalTweet\na,b\n")
    with pytest.raises(DataError, match=r"did you mean 'Sentiment'"):
        load_labelled(path, DataConfig(text_col="OriginalTweet", label_col="sentiment"))


def test_unknown_preset_is_refused():
    with pytest.raises(ConfigError, match="unknown preset 'smiles'.*smile"):
        resolve_data_config(DataConfig(preset="smiles"))


def test_presets_are_all_resolvable():
    for name in PRESETS:
        resolved = resolve_data_config(DataConfig(preset=name))
        assert resolved.text_col and resolved.label_col


def test_explicit_options_override_the_preset():
    resolved = resolve_data_config(DataConfig(preset="covid", encoding="utf-8"))
    assert resolved.encoding == "utf-8"
    assert resolved.text_col == "OriginalTweet"


@pytest.mark.parametrize(
    "content, fragment",
    [(b"", "empty"), (b"text,label\n", "no usable rows"), (b"\x00\x01\x02binary", "binary")],
)
def test_unusable_files(tmp_path, content, fragment):
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=fragment):
        load_labelled(path, DataConfig(text_col="text", label_col="label"))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_table(tmp_path / "nope.csv", DataConfig())
    with pytest.raises(DataError, match="directory"):
        read_table(tmp_path, DataConfig())


def test_load_texts_uses_the_only_column(tmp_path):
    path = write(tmp_path / "t.csv", "text\nhello\n\nbye\n")
    # In a file of one column a blank line is an empty text: one answer per input row.
    assert load_texts(path, DataConfig()) == ["hello", "", "bye"]


@pytest.mark.needs_shared_data
def test_smile_splits_exactly_as_the_tutorial(smile_path):
    data = load_labelled(smile_path, DataConfig(preset="smile"))
    assert len(data) == 1481
    assert len(data.label_set) == 6
    train, val = stratified_split(data, 0.15, 17)
    assert (len(train), len(val)) == (1258, 223)
    val_counts = pd.Series(val.labels).value_counts().to_dict()
    assert val_counts == {
        "happy": 171,
        "not-relevant": 32,
        "angry": 9,
        "surprise": 5,
        "sad": 5,
        "disgust": 1,
    }


@pytest.mark.needs_shared_data
def test_covid_file_loads_with_its_preset(covid_path):
    data = load_labelled(covid_path, DataConfig(preset="covid"))
    assert len(data) == 3798
    assert data.label_set == [
        "Extremely Negative",
        "Extremely Positive",
        "Negative",
        "Neutral",
        "Positive",
    ]


def test_split_refuses_a_class_too_small_naming_it():
    from tweetsent.data import LabelledData

    data = LabelledData(["a"] * 10 + ["b"], ["x"] * 10 + ["lonely"], "f.csv")
    with pytest.raises(DataError, match="'lonely' has only 1 row"):
        stratified_split(data, 0.2, 0)


def test_split_refuses_a_single_class():
    from tweetsent.data import LabelledData

    data = LabelledData(["a"] * 10, ["x"] * 10, "f.csv")
    with pytest.raises(DataError, match="only one class"):
        stratified_split(data, 0.2, 0)


def test_a_tab_separated_csv_gets_a_format_hint(tmp_path):
    path = tmp_path / "tabs.csv"
    path.write_text("text\tlabel\nlove it\thappy\nhate it\tangry\n")
    with pytest.raises(
        DataError, match=r"no column 'text'.*looks tab-separated: pass --format tsv"
    ):
        load_labelled(path, DataConfig(text_col="text", label_col="label"))


def test_an_unknown_suffix_is_sniffed_and_said(tmp_path, caplog):
    tabs = tmp_path / "tabs.txt"
    tabs.write_text("text\tlabel\nlove it, really\thappy\nhate it\tangry\n")
    with caplog.at_level("WARNING", logger="tweetsent"):
        data = load_labelled(tabs, DataConfig(text_col="text", label_col="label"))
    assert data.texts == ["love it, really", "hate it"]
    assert "read as TSV" in caplog.text
    commas = tmp_path / "commas.dat"
    commas.write_text("text,label\nlove it,happy\n")
    assert load_labelled(commas, DataConfig(text_col="text", label_col="label")).labels == ["happy"]


def test_a_saved_datasets_folder_reads_like_a_file(tmp_path):
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    features = Features({"text": Value("string"), "label": ClassLabel(names=["angry", "happy"])})
    train = Dataset.from_dict({"text": ["hate it", "love it"], "label": [0, 1]}, features=features)
    train.save_to_disk(tmp_path / "one")
    DatasetDict({"train": train, "test": train}).save_to_disk(tmp_path / "splits")
    DatasetDict({"a": train, "b": train}).save_to_disk(tmp_path / "no-train")
    config = DataConfig(text_col="text", label_col="label")
    for folder in ("one", "splits"):
        data = load_labelled(tmp_path / folder, config)
        assert data.texts == ["hate it", "love it"] and data.labels == ["angry", "happy"]
    with pytest.raises(DataError, match="none named 'train'"):
        load_labelled(tmp_path / "no-train", config)
    with pytest.raises(DataError, match="is a directory"):
        load_labelled(tmp_path, config)


def test_the_split_keeps_what_cleaning_dropped():
    from tweetsent.data import LabelledData, stratified_split

    data = LabelledData(
        [f"tweet {i}" for i in range(20)], ["a", "b"] * 10, "f.csv", {"empty label": 3}
    )
    train, val = stratified_split(data, 0.2, 17)
    assert train.dropped == {"empty label": 3}  # reported once, with the training rows
    assert val.dropped == {} and len(train) + len(val) == 20
