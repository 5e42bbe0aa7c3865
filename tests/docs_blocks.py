"""The code blocks of the README and of every docs page, and a runner that runs them as written.

A page's ```bash and ```python blocks run in order, in a fresh project folder with
``../shared`` beside it (as in a clone of the repository) and ``runs/smile`` trained by the
quickstart's command. A comment on the line before a block changes how it runs:

- ``<!-- docs-test: background -->``: started and left running (``tweetsent serve``) until the
  page's last block is done; the next blocks run once it answers on port 8000.
- ``<!-- docs-test: skip, REASON -->``: not run. The only reason allowed is a machine this one
  is not: a cluster, an object store (tests check that the reason says so).

A contributor's lines (``pip install``, ``python -m pytest``, ``ruff``, ``lint-imports``,
``mkdocs``) run from the repository's root, where they are meant to be typed. The environment
names the backbone (``TWEETSENT_MODEL``): a tiny random BERT in the tests, so that the pages'
trainings take seconds; every word of each block is the page's.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# Pages with no blocks to run: the generated command-line reference and the API reference.
NOT_RUN = {"cli.md", "api.md", "index.md"}
SKIP_REASONS = ("cluster", "object store")
QUICKSTART = (
    "tweetsent train ../shared/data/smile-annotations-final.csv --preset smile --out runs/smile"
)
SERVICE = "http://127.0.0.1:8000"

SHELL_OPERATORS = {"&", "&&", "||", "|", ";", ">", ">>", "2>&1"}
_FENCE = re.compile(
    r"^(?:<!-- docs-test: (?P<directive>[^>]*?) -->\n)?(?P<indent> *)```(?P<lang>bash|python)\n"
    r"(?P<code>.*?)^(?P=indent)```",
    re.M | re.S,
)


@dataclass(frozen=True)
class Block:
    page: str
    lang: str
    code: str
    directive: str = ""  # "", "background" or "skip, REASON"

    @property
    def skipped(self) -> bool:
        return self.directive.startswith("skip")

    @property
    def background(self) -> bool:
        return self.directive == "background"


def pages() -> list[Path]:
    return [README, *sorted(p for p in DOCS.glob("*.md") if p.name not in NOT_RUN)]


def page_blocks(path: Path) -> list[Block]:
    """Every bash / python block of a page, in order, dedented, with its directive."""
    blocks = []
    for match in _FENCE.finditer(path.read_text(encoding="utf-8")):
        indent = len(match["indent"])
        code = "".join(line[indent:] for line in match["code"].splitlines(keepends=True))
        blocks.append(Block(path.name, match["lang"], code, (match["directive"] or "").strip()))
    return blocks


def tweetsent_commands(code: str) -> list[list[str]]:
    """The arguments of every ``tweetsent`` / ``-m tweetsent`` command in a shell block."""
    commands = []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        for start, word in enumerate(words):
            if word == "tweetsent" and (start == 0 or words[start - 1] == "-m"):
                argv = words[start + 1 :]
                ends = [i for i, w in enumerate(argv) if w in SHELL_OPERATORS]
                commands.append(argv[: ends[0]] if ends else argv)
                break
    return commands


def project(tmp_path: Path, shared: Path, backbone: Path) -> tuple[Path, dict]:
    """A fresh project folder with ../shared beside it; the environment a reader's shell has,
    with the backbone named in ``TWEETSENT_MODEL``."""
    (tmp_path / "shared").symlink_to(shared, target_is_directory=True)
    work = tmp_path / "project"
    work.mkdir()
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", TWEETSENT_MODEL=str(backbone))
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_XDIST_WORKER_COUNT", None)
    env.pop("PYTEST_CURRENT_TEST", None)
    return work, env


CONTRIBUTOR = re.compile(r"\s*(pip install|python -m pytest|ruff|lint-imports|mkdocs)\b")


def at_root(code: str) -> str:
    """A contributor's lines run where they are meant to be typed: the repository's root, in
    a developer's environment (the suite they start chooses its own backbones)."""
    lines = []
    for line in code.splitlines():
        if CONTRIBUTOR.match(line):
            command = re.sub(r"\s+#.*$", "", line.strip())  # a comment would eat the ")"
            line = f"(cd {shlex.quote(str(ROOT))} && unset TWEETSENT_MODEL && {command})"
        lines.append(line)
    return "\n".join(lines) + "\n"


def for_contributors(block: Block) -> bool:
    return any(CONTRIBUTOR.match(line) for line in block.code.splitlines())


class Runner:
    """Runs one page's blocks in ``work``: each in a fresh shell or interpreter."""

    def __init__(self, work: Path, env: dict, timeout: float = 1800):
        self.work, self.env, self.timeout = work, env, timeout
        self.servers: list[subprocess.Popen] = []

    def run(self, block: Block) -> tuple[str, str]:
        """(stdout, stderr) of a block; a failure is an AssertionError naming it."""
        if block.background:
            self._start_server(block)
            return "", ""
        if for_contributors(block):
            self.stop()  # the reader is done with the service (its tests start their own)
        if block.lang == "bash":
            argv = ["bash", "-euo", "pipefail", "-c", at_root(block.code)]
        else:
            argv = [sys.executable, "-c", block.code]
        proc = subprocess.run(
            argv,
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=self.timeout,
        )
        assert proc.returncode == 0, (
            f"{block.page}: block failed ({proc.returncode}):\n{block.code}\n{proc.stderr[-3000:]}"
        )
        assert "Traceback" not in proc.stderr, f"{block.page}:\n{block.code}\n{proc.stderr}"
        return proc.stdout, proc.stderr

    def _start_server(self, block: Block) -> None:
        import httpx

        log = open(self.work / f"server-{len(self.servers)}.log", "w")  # noqa: SIM115
        server = subprocess.Popen(
            ["bash", "-c", f"exec {block.code.strip().splitlines()[0].split('#')[0]}"],
            cwd=self.work,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.servers.append(server)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert server.poll() is None, (self.work / log.name).read_text()
            try:
                if httpx.get(f"{SERVICE}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"{block.page}: the server did not come up:\n{block.code}")

    def stop(self) -> None:
        """Ctrl+C for every server a page started, as its reader would."""
        for server in self.servers:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)
                try:
                    server.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
        self.servers.clear()


def run_page(path: Path, work: Path, env: dict) -> list[tuple[Block, str, str]]:
    """Every block of the page that runs, in order; (block, stdout, stderr) of each."""
    runner = Runner(work, env)
    results = []
    try:
        for block in page_blocks(path):
            if not block.skipped:
                results.append((block, *runner.run(block)))
    finally:
        runner.stop()
    return results
