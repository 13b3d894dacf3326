"""structlog, configured once per process at its edge; message context is bound per request."""

from __future__ import annotations

import logging
import sys

import structlog


class _CurrentStdout:
    """Writes to whatever `sys.stdout` is when a line is logged, not when logging was set up
    (a command run in-process, as tests do, may have replaced and closed it meanwhile)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def configure_logging(*, json: bool, level: int = logging.INFO) -> None:
    render: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if json
        else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            render,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStdout()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
