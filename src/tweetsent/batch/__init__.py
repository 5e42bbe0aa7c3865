"""Batch prediction: label files of any size, in shards, on a Ray cluster, or in Spark.

- :func:`predict_file`: one file, streamed in chunks, resumable after a kill
  (``tweetsent predict RUN --input FILE``); :func:`merge_shards` joins ``--shard I/N`` parts.
- :mod:`tweetsent.batch.ray`: many files or a Ray Dataset on a cluster (the ``ray`` extra).
- :mod:`tweetsent.batch.spark`: a pandas UDF for Spark DataFrames (the ``spark`` extra).
"""

from tweetsent.batch.files import predict_file
from tweetsent.batch.shards import Shard, merge_shards

__all__ = ["Shard", "merge_shards", "predict_file"]
