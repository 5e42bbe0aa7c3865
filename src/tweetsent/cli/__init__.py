"""The ``tweetsent`` command: a thin layer over the library's functions.

Each command module adds its parser and a ``*_cli`` function; only this module turns
exceptions into one-line messages and exit codes.
"""

from __future__ import annotations

import argparse
import logging
import sys

from tweetsent import __version__

COMMANDS = ("inspect", "train", "evaluate", "predict", "baseline", "export", "bench", "serve")

logger = logging.getLogger("tweetsent")


def build_parser() -> argparse.ArgumentParser:
    from importlib import import_module

    parser = argparse.ArgumentParser(
        prog="tweetsent",
        description="Fine-tune BERT-family encoders to classify tweets, evaluate them, and "
        "put them to work.",
    )
    parser.add_argument("--version", action="version", version=f"tweetsent {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        import_module(f"tweetsent.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from tweetsent.cli._util import setup_logging
    from tweetsent.errors import TweetsentError

    _unencodable_output_escaped()
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    try:
        return int(args.func(args) or 0)
    except TweetsentError as exc:
        if getattr(exc, "quiet", False):  # already reported by another process (rank 0)
            return 1
        return _fail(str(exc), args.verbose)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        return _fail(
            "out of memory (the data or model does not fit; for large files to label, "
            "tweetsent predict --input streams them)",
            args.verbose,
        )
    except OSError as exc:
        # Disk full, permission denied, ...: still one line, naming the file where known.
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return _fail(f"{where}{text}", args.verbose)


def _unencodable_output_escaped() -> None:
    """A terminal or pipe that cannot show a character (PYTHONIOENCODING=ascii, a cp1252
    console) gets it as ``\\U0001f60d`` instead of ending the run with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "strict") == "strict":
            reconfigure(errors="backslashreplace")


def _fail(message: str, verbose: bool) -> int:
    if verbose:
        logger.exception("error")
    print(f"error: {message}", file=sys.stderr)
    return 1


def run() -> None:
    sys.exit(main())
