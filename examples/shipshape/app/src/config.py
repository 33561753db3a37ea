"""Runtime configuration for the app, read once from the environment.

Validation is fail-fast: a misconfigured pod must crash at start-up (and show up as
CrashLoopBackOff) rather than serve a wrong message silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

DEFAULT_MESSAGE = "Hello from shipshape"
DEFAULT_PORT = 8080
DEFAULT_LOG_LEVEL = "INFO"
VALID_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_MESSAGE_LENGTH = 1024

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """Raised when the environment does not describe a valid configuration."""


@dataclass(frozen=True)
class AppConfig:
    message: str
    message_source: str  # "env" or "default"
    port: int
    log_level: str
    tracing_enabled: bool


def parse_bool(name: str, raw: str | None, default: bool) -> bool:
    """Parse a boolean environment variable; anything unrecognised is an error."""
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be a boolean (true/false), got {raw!r}")


def parse_port(raw: str | None) -> int:
    if raw is None or raw.strip() == "":
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError as exc:
        raise ConfigError(f"PORT must be an integer, got {raw!r}") from exc
    if not 1 <= port <= 65535:
        raise ConfigError(f"PORT must be between 1 and 65535, got {port}")
    return port


def load_config(environ: Mapping[str, str] | None = None) -> AppConfig:
    """Build an AppConfig from ``environ`` (defaults to ``os.environ``).

    ``MESSAGE`` is required unless ``ALLOW_DEFAULT_MESSAGE`` is true, in which case the
    built-in default message is served and ``message_source`` is ``"default"``.
    """
    env = os.environ if environ is None else environ

    allow_default = parse_bool("ALLOW_DEFAULT_MESSAGE", env.get("ALLOW_DEFAULT_MESSAGE"), False)
    message = env.get("MESSAGE")
    if message is None or message.strip() == "":
        if not allow_default:
            raise ConfigError(
                "MESSAGE is not set and ALLOW_DEFAULT_MESSAGE is false; "
                "set MESSAGE in the shipshape-config ConfigMap"
            )
        message, source = DEFAULT_MESSAGE, "default"
    else:
        source = "env"
    if len(message) > MAX_MESSAGE_LENGTH:
        raise ConfigError(f"MESSAGE must be at most {MAX_MESSAGE_LENGTH} characters")

    log_level = (env.get("LOG_LEVEL") or DEFAULT_LOG_LEVEL).strip().upper()
    if log_level not in VALID_LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(VALID_LOG_LEVELS)}, got {log_level!r}")

    return AppConfig(
        message=message,
        message_source=source,
        port=parse_port(env.get("PORT")),
        log_level=log_level,
        tracing_enabled=parse_bool("TRACING_ENABLED", env.get("TRACING_ENABLED"), False),
    )
