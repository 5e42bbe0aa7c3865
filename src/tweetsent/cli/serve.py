"""``tweetsent serve``: an HTTP prediction service with a web page, for one trained run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tweetsent.cli._options import Options, add_config_args, given_values
from tweetsent.cli._util import add_allow_pickle, add_backend_args
from tweetsent.serving import serve
from tweetsent.serving.settings import ServeConfig

# Listening first, then the model's options, then the batching, limit and connection groups.
LISTEN = ("host", "port")
SERVICE = tuple(f.name for f in dataclasses.fields(ServeConfig) if f.name not in LISTEN)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve a trained run over HTTP (JSON API and a web page)",
        description="Serve a run: POST /predict, POST /predict-file (a table uploaded, labelled "
        "as 'tweetsent predict --input' labels it), GET /health, GET /model, API docs "
        "at /docs and a web page at /. Concurrent requests are gathered into batches for the "
        "model. Stop with Ctrl+C (or SIGTERM): requests in flight finish first.",
    )
    p.add_argument("run_dir", help="run directory written by 'tweetsent train'")
    # Every ServeConfig field with a flag, from the field's own help text and rule.
    add_config_args(p, ServeConfig, only=LISTEN)
    add_backend_args(p, batch_size=False)  # the service's batches are --max-batch-size
    add_allow_pickle(p)
    add_config_args(p, ServeConfig, only=SERVICE)
    p.set_defaults(func=serve_cli)


@dataclass(frozen=True)
class ServeOptions(Options):
    run_dir: str = ""
    backend: str = "auto"
    precision: str = "auto"
    allow_pickle: bool = False  # the service's own settings are ServeConfig's flags


def serve_cli(args) -> int:
    opts = ServeOptions.from_args(args)
    settings = ServeConfig(**given_values(opts, ServeConfig))
    serve(
        opts.run_dir,
        settings,
        backend=opts.backend,
        precision=opts.precision,
        allow_pickle=opts.allow_pickle,
    )
    return 0
