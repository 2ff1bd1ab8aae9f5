"""``action2vec`` entry point: one sub-command module per pipeline stage.

Each module in ``COMMAND_MODULES`` has ``register(subparsers)``, which adds its parser(s) and sets
``func(args) -> int`` as the parser default. Heavy imports stay inside ``func`` so ``--help`` is fast.

Exit status, the same for every command (README, "Exit codes"):

    0    done (extraction included, when some videos were unreadable: they are recorded)
    2    bad input: a setting out of range, a missing or damaged file, a store another process writes;
         one line names the key or file, and nothing was written. Also an output the operating system
         refuses (no space left, permission denied, a read-only file system): one line names the path,
         and what was finished is kept, so the same command resumes once the cause is fixed
    130  Ctrl-C; 143 SIGTERM: what was finished is kept, rerunning the same command resumes
    1    a bug (a traceback)
"""

from __future__ import annotations

import argparse
import difflib
import errno
import importlib
import logging
import os
import re
import sys
import warnings
from contextlib import contextmanager
from typing import Any, Iterator

from action2vec import __version__
from action2vec.errors import Action2VecError
from action2vec.extras import missing_extra
from action2vec.signals import Stopped, received_signal, stop_on_signals

log = logging.getLogger(__name__)

COMMAND_MODULES = [
    "action2vec.cli.extract_cmd",
    "action2vec.cli.store_cmd",
    "action2vec.cli.labels_cmd",
    "action2vec.cli.train_cmd",
    "action2vec.cli.classify_cmd",
    "action2vec.cli.index_cmd",
    "action2vec.cli.search_cmd",
    "action2vec.cli.serve_cmd",
    "action2vec.cli.zsl_cmd",
    "action2vec.cli.eval_cmd",
    "action2vec.cli.export_cmd",
    "action2vec.cli.report_cmd",
    "action2vec.cli.demo_cmd",
]

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT

# Messages from libraries that say nothing about this run: advertisements and deprecations inside
# Lightning that its users cannot act on. Real warnings still show (once each, through logging).
_ADVERTS = ("💡 Tip:",)
_HARMLESS_WARNINGS = (
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",  # torch's pytree API as Lightning 2.6 uses it
    r"Checkpoint directory .* exists and is not empty",  # every resume; fit() logs what it resumes from
)
_LIGHTNING_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric")
# Commands that train with Lightning: it is imported before logging is set up, because importing it gives
# its loggers console handlers of their own (every Lightning line showed twice, in two formats).
_LIGHTNING_COMMANDS = frozenset({"train", "zsl", "demo"})


class UsageError(Exception):
    """A command line argparse cannot read (printed as one line, exit 2)."""


class CommandParser(argparse.ArgumentParser):
    """argparse with one-line errors that point to the (sub-)command's own help, a did-you-mean for a mistyped
    option, sub-command or choice, and the declared range of ``bounded`` options in their help. A shortened
    option is refused with the did-you-mean rather than taken for the one it begins (argparse's ``allow_abbrev``
    took ``--seed 3`` as ``--seeds 3``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:
        raise UsageError(f"{self.prog}: error: {message}; see '{self.prog} --help'")

    def parse_known_args(  # type: ignore[override]  # one signature for typeshed's overloads
        self, args: Any = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """As argparse, but what this parser does not know is refused here, where its options are known (argparse
        would hand it up to the top parser, whose error named neither the sub-command nor a likely option)."""
        parsed, extras = super().parse_known_args(args, namespace)
        assert parsed is not None  # argparse returns the namespace it filled
        if extras:
            self.error(self._unrecognized(extras))
        return parsed, extras

    def _unrecognized(self, extras: list[str]) -> str:
        """``unrecognized argument --x (did you mean --y?)``; stray values are named only when no option is."""
        named = [e for e in extras if e.startswith("-")] or extras
        known = {o[2:]: o for o in self._option_string_actions if o.startswith("--")}  # '--' would match any
        parts = []
        for arg in named:
            name = arg.split("=", 1)[0].lstrip("-")
            guess = difflib.get_close_matches(name, known, n=1) if arg.startswith("--") else []
            parts.append(f"{arg} (did you mean {known[guess[0]]}?)" if guess else arg)
        return f"unrecognized argument{'s' if len(parts) > 1 else ''} {', '.join(parts)}"

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """A value outside ``choices`` (a sub-command name among them) names the closest choice."""
        choices = action.choices
        if choices is not None and value not in choices:
            names = [str(c) for c in choices]
            guess = difflib.get_close_matches(str(value), names, n=1)
            if guess:
                raise argparse.ArgumentError(action, f"invalid choice: {value!r} (did you mean {guess[0]!r}?)")
        super()._check_value(action, value)

    def _get_formatter(self) -> argparse.HelpFormatter:
        formatter = super()._get_formatter()
        plain = formatter._get_help_string

        def with_range(action: argparse.Action) -> str | None:
            text = plain(action)
            allowed = getattr(action.type, "range_text", "")
            return f"{text} (must be {allowed})" if text and allowed else text

        formatter._get_help_string = with_range  # type: ignore[method-assign]
        return formatter


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="action2vec",
        description="Learn a joint embedding of actions in video and their names; zero-shot recognition "
        "and semantic evaluation.",
        epilog="Exit status: 0 done, 2 bad input (one line), 130 Ctrl-C, 143 SIGTERM (finished work kept; rerun "
        "to resume), 1 a bug.",
    )
    parser.add_argument("--version", action="version", version=f"action2vec {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # command not part of this build
            raise
        module.register(sub)
    return parser


class _DropAdverts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_ADVERTS)


class _OneLineWarnings(logging.Filter):
    """``warnings.formatwarning`` ends with a newline, which showed as an empty line after each warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = record.msg.rstrip()
        return True


def setup_logging(verbose: bool = False, lightning: bool = False) -> None:
    """One handler (the root's) for every message, Lightning's included (``lightning``: import it first)."""
    if lightning:
        import lightning.pytorch as _lightning  # noqa: F401
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for name in _LIGHTNING_LOGGERS:
        lg = logging.getLogger(name)
        for handler in list(lg.handlers):
            if type(handler) is logging.StreamHandler:
                lg.removeHandler(handler)
        lg.propagate = True
    for name, cls in (("lightning.pytorch.utilities.rank_zero", _DropAdverts), ("py.warnings", _OneLineWarnings)):
        lg = logging.getLogger(name)
        if not any(isinstance(f, cls) for f in lg.filters):
            lg.addFilter(cls())


@contextmanager
def warnings_through_logging() -> Iterator[None]:
    """Warnings go to the ``py.warnings`` logger (so above progress bars), known-harmless ones not at all."""
    with warnings.catch_warnings():
        for pattern in _HARMLESS_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern)
        logging.captureWarnings(True)
        try:
            yield
        finally:
            logging.captureWarnings(False)


# Operating-system refusals of an output, each with what to do about it. The work finished before is kept
# (stores keep complete part files, training its checkpoints, index builds their staging folder).
_OS_REFUSALS = {
    errno.ENOSPC: ("no space left on the device", "free some space"),
    errno.EDQUOT: ("disk quota exceeded", "free some space"),
    errno.EACCES: ("permission denied", "give this user write access or choose another output"),
    errno.EPERM: ("operation not permitted", "give this user write access or choose another output"),
    errno.EROFS: ("read-only file system", "choose an output on a writable file system"),
    errno.ENOTDIR: ("a file stands where an output folder must be", "name another output"),
    errno.EISDIR: ("a folder stands where an output file must be", "name another output"),
}
# h5py and torch report some of them as text only ("errno = 28", "No space left on device").
_ERRNO_TEXT = re.compile(r"errno\s*=\s*(\d+)")
_FILE_TEXT = re.compile(r"name = '([^']+)'")


def os_refusal(exc: BaseException) -> str | None:
    """One line for an operating-system refusal (no space, permission, read-only) anywhere in the chain of
    ``exc`` (libraries wrap them), naming the path; None for anything else."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        code = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
        if code is None:
            match = _ERRNO_TEXT.search(text)
            code = int(match.group(1)) if match else next((c for c in _OS_REFUSALS if os.strerror(c) in text), None)
        if code in _OS_REFUSALS:
            what, remedy = _OS_REFUSALS[code]
            # a copy or move (a checkpoint saved to a temporary file, then moved) names both: the write failed at
            # the destination, the output the user asked for
            path = (
                getattr(exc, "filename2", None)
                or getattr(exc, "filename", None)
                or (m.group(1) if (m := _FILE_TEXT.search(text)) else None)
            )
            where = f"{path}: " if path else ""
            return f"{where}{what}; what was finished before is kept: {remedy}, then rerun the same command to resume"
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return None


def _stopped(command: str, exc: Stopped) -> int:
    print(f"action2vec {command}: {exc}", file=sys.stderr)
    return exc.exit_code


def _run(args: argparse.Namespace) -> int:
    """The command's exit status: its own, 2 for bad input, 130 for Ctrl-C, 128 + signal when stopped."""
    try:
        return int(args.func(args) or 0)
    except Stopped as exc:
        return _stopped(args.command, exc)
    except Action2VecError as exc:
        print(f"action2vec {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"action2vec {args.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException as exc:
        signum = received_signal()
        missing = missing_extra(exc) if signum is None else None
        if missing is not None:  # an optional import that no caller wrapped in extras.require
            print(f"action2vec {args.command}: error: {missing}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if signum is None:
            refusal = os_refusal(exc) if isinstance(exc, Exception) else None
            if refusal is None:
                raise
            log.debug("the operating system refused an output", exc_info=True)
            print(f"action2vec {args.command}: error: {refusal}", file=sys.stderr)
            return EXIT_BAD_INPUT
        # e.g. a DataLoader worker ended by the same SIGTERM: the signal is the cause, not a bug
        log.debug("error while stopping for signal %d", signum, exc_info=True)
        return _stopped(args.command, Stopped(signum))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    setup_logging(args.verbose, lightning=getattr(args, "command", None) in _LIGHTNING_COMMANDS)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    with warnings_through_logging(), stop_on_signals():
        return _run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
