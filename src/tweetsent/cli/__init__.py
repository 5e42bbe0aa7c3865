"""The ``tweetsent`` command: a thin layer over the library's functions.

Each command module adds its parser and a ``*_cli`` function; only this module turns
exceptions into one-line messages and exit codes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from tweetsent import __version__, fileio
from tweetsent.cli._util import setup_logging
from tweetsent.errors import TweetsentError

COMMANDS = (
    "inspect",
    "train",
    "adapt",
    "evaluate",
    "predict",
    "baseline",
    "export",
    "distill",
    "bench",
    "serve",
    "audit",
    "suggest",
)

logger = logging.getLogger("tweetsent")


class Parser(argparse.ArgumentParser):
    """argparse with two conventions people expect from a CLI (argparse lacks both).

    - Options may come anywhere, also between positionals: ``predict RUN --backend onnx "text"``
      (argparse would bind ``texts`` to ``[]`` at ``RUN`` and reject "text"), so each command's
      parser parses intermixed.
    - A usage error is one line naming the problem (with the closest choice for a typo) and a
      pointer to ``--help``, not the whole usage.
    """

    _intermixed = False

    def parse_known_args(self, args=None, namespace=None):
        # The subparsers action calls this on the command's parser; parse_known_intermixed_args
        # calls it again (twice) for its two passes, which must be plain.
        if self._intermixed or self._subparsers is not None:
            return super().parse_known_args(args, namespace)
        self._intermixed = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixed = False

    def error(self, message: str):
        import re
        from difflib import get_close_matches

        found = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if found:
            choices = re.findall(r"'([^']*)'", found.group(2))
            close = get_close_matches(found.group(1), choices, n=1)
            if close:
                message += f"; did you mean '{close[0]}'?"
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from importlib import import_module

    parser = Parser(
        prog="tweetsent",
        description="Fine-tune BERT-family encoders to classify tweets, evaluate them, and "
        "put them to work.",
    )
    parser.add_argument("--version", action="version", version=f"tweetsent {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=Parser
    )
    for name in COMMANDS:
        import_module(f"tweetsent.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    _unencodable_output_escaped()
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=args.quiet)
    try:
        with fileio.inputs_guarded():  # no command replaces a file it read
            return int(args.func(args) or 0)
    except TweetsentError as exc:
        if getattr(exc, "quiet", False):  # already reported by another process (rank 0)
            return 1
        return _fail(str(exc), args.verbose)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_gone()
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


def _reader_gone() -> int:
    """The reader of our output left (``tweetsent predict ... | head``): stop quietly, as
    ``cat`` does, and point stdout at /dev/null so the interpreter's final flush cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141  # 128 + SIGPIPE, what a shell reports for a command the pipe stopped


def run() -> None:
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _reader_gone()
    sys.exit(code)
