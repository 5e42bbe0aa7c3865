"""Batch prediction from a pipe: standard input (``--input -``) or a FIFO."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

from tweetsent import fileio
from tweetsent.batch.shards import shard_path
from tweetsent.data.reading import SUFFIX_FORMATS
from tweetsent.errors import DataError, disk_full_as_error

logger = logging.getLogger(__name__)

STDIN = "-"  # --input -: read standard input


def predict_pipe(
    classifier, input_path, output_path, data_config, chunk_rows: int, options: dict, label_file
) -> int:
    """Label a pipe (standard input, a FIFO) as ``predict_file`` labels a file.

    The pipe is copied to a hidden file beside the output first, since the input is read twice
    (count, then label); it is removed at the end. A pipe cannot be read again, so such a run
    cannot resume after an interruption: it starts over.
    """
    target = shard_path(output_path, options.get("shard"))
    fileio.check_output_file(target)
    name = "standard input" if str(input_path) == STDIN else str(input_path)
    suffix = Path(str(input_path)).suffix
    if suffix.lower() not in SUFFIX_FORMATS:
        suffix = f".{data_config.format or 'csv'}"
    spool = target.with_name(f".{target.name}.input{suffix}")
    if options.get("resume"):
        logger.info("%s: a pipe, so an interrupted run cannot resume; it will start over", name)
    options = {**options, "resume": False}
    try:
        copying = disk_full_as_error(target.parent, f"while copying {name}", "free some space")
        with copying, spool.open("wb") as out:
            if str(input_path) == STDIN:
                shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
            else:
                with open(input_path, "rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
        return label_file(  # predict_file, handed in: it is the module that calls this one
            classifier, spool, output_path, data_config, chunk_rows=chunk_rows, **options
        )
    except DataError as exc:  # name what the user gave, not our hidden copy
        raise DataError(str(exc).replace(str(spool), name)) from None
    finally:
        spool.unlink(missing_ok=True)


__all__ = ["STDIN", "predict_pipe"]
