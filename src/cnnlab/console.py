"""What cnnlab tells the user: on the console, and for a run in its directory's `train.log`.

cnnlab's messages (tables, summaries) go through the `cnnlab` logger, printed as plain lines, as
Lightning prints its own through loggers that do not reach the root logger (where Hydra's job
log file hangs). So during a run `run_log` hangs one file handler on all of them: cnnlab's,
Lightning's and Python's warnings (`logging.captureWarnings`), and writes the error that ends
a failed run; a resumed run appends to the same file.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cnnlab.errors import CnnlabError

console = logging.getLogger("cnnlab")
_WARNINGS = "py.warnings"
# loggers that print to the console without propagating to the root logger
_CONSOLE_LOGGERS = ("cnnlab", "pytorch_lightning", "lightning_fabric", _WARNINGS)


class _Console(logging.Handler):
    """Plain lines to the current sys.stdout (info) or sys.stderr (warnings and errors), looked
    up when printing, so redirections made after import (pytest, contextlib) still apply."""

    def emit(self, record: logging.LogRecord) -> None:
        stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
        print(self.format(record), file=stream, flush=True)


if not console.handlers:  # once per process, as Lightning sets up its own logger
    console.addHandler(_Console())
    console.setLevel(logging.INFO)
    console.propagate = False


@contextmanager
def run_log(path: Path) -> Iterator[None]:
    """Copy the console's messages (and the error that ends the run) into `path` meanwhile."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] %(message)s"))
    loggers = [logging.getLogger(name) for name in _CONSOLE_LOGGERS]
    warnings_log, printer = logging.getLogger(_WARNINGS), _Console()
    warnings_propagate = warnings_log.propagate
    warnings_log.addHandler(printer)  # printed as Python prints warnings, not twice via root
    warnings_log.propagate = False
    for logger in loggers:
        logger.addHandler(handler)
    logging.captureWarnings(True)
    try:
        yield
    except BaseException as error:
        cause = str(error) if isinstance(error, CnnlabError) else f"{type(error).__name__}: {error}"
        trace = None if isinstance(error, CnnlabError) else sys.exc_info()
        record = console.makeRecord(
            console.name, logging.ERROR, __file__, 0, "the run failed: %s", (cause,), trace
        )
        handler.handle(record)
        raise
    finally:
        logging.captureWarnings(False)
        for logger in loggers:
            logger.removeHandler(handler)
        warnings_log.removeHandler(printer)
        warnings_log.propagate = warnings_propagate
        handler.close()
