"""Settings: command-line flags, then `DUMPLING_MOCK_*` environment variables, then the config
file, then the embedded defaults. Every bad value gives a one-line `SettingsError` naming where it
came from, so `dumpling-mock serve` can print it and exit 2.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from mock_server.exceptions import SettingsError
from mock_server.server.secrets import mask_text, url_secrets

ENV_PREFIX = "DUMPLING_MOCK_"
DEFAULT_CREDITS = 1_000_000  # a key configured or created without credits
DEMO_KEYS = (
    # (key, credits, active): the demo keys exist only when no key is configured.
    ("sk_mock_demo", DEFAULT_CREDITS, True),
    ("sk_mock_low_credits", 0, True),
    ("sk_mock_inactive", 1_000_000, False),
)
PERIODS = {  # one table for `serve`, the config file, the environment and `dumpling-contract`
    **dict.fromkeys(("second", "seconds", "sec", "s"), 1),
    **dict.fromkeys(("minute", "minutes", "min", "m"), 60),
    **dict.fromkeys(("hour", "hours", "hr", "h"), 3600),
    **dict.fromkeys(("day", "days", "d"), 86400),
}
VALIDATIONS = ("documented", "vendor")  # README: "What is checked, and where each rule comes from"
FIDELITIES = ("docs", "tiktok")  # README: "Data fidelity and TikTok's pagination quirks"
QUIRKS = ("pinned", "duplicates", "empty-page", "page-sizes", "zero-cursor")  # same section, one paragraph each
RATE_LIMIT_SYNTAX = "N/second|minute|hour|day or N/s|m|h|d, optionally N/10second, N >= 1"


@dataclass(frozen=True)
class ApiKey:
    key: str
    credits: int
    active: bool = True


@dataclass(frozen=True)
class RateLimit:
    requests: int
    period_s: int

    def __str__(self) -> str:
        return f"{self.requests}/{self.period_s}s"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 1
    config: Path | None = None
    api_keys: tuple[ApiKey, ...] = ()
    rate_limit: RateLimit = RateLimit(1000, 60)
    log_level: str = "info"
    state: Path | None = None
    workers: int = 1
    admin_token: str | None = None
    journal_limit: int = 10_000
    journal_max_bytes: int = 32 * 1024 * 1024  # the journal's total size, whatever its entry count
    max_body_bytes: int = 64 * 1024
    client_timeout: float = 10.0  # seconds a client has to send its headers, and again its body
    page_size: int = 10
    handles: Mapping[str, int] = field(default_factory=dict)
    contract: Path | None = None
    overlay: Path | None = None
    upstream: str | None = None  # proxy mode: forward to this base URL instead of mocking
    validation: str = "documented"  # "vendor": accept every request the vendor's YAML accepts
    retry_after: str = "off"  # Retry-After on 503s: "off", "window" or whole seconds (faults.retry_after)
    faults: tuple[Mapping[str, Any], ...] = ()  # installed at start, checked against admin.yaml (faults/spec.py)
    cors: tuple[str, ...] = ()  # origins a browser page may call the mock from ("*": any); none: CORS off
    fidelity: str = "docs"  # "tiktok": items in TikTok's full aweme shape (docs/tiktok-shape.md)
    quirks: tuple[str, ...] = ()  # TikTok's pagination quirks to serve, from QUIRKS; none: ideal pages

    def __post_init__(self) -> None:
        """A Settings built in code (tests, the Python API) gets the CLI's parsers and messages:
        a bad value fails here, in one line, not later with an AttributeError. Typed values
        (ApiKey, RateLimit, Path) are checked as their text form would be; text is parsed."""
        for name, value in _given(self).items():
            object.__setattr__(self, name, parse(name, _as_raw(value), name))

    @property
    def keys(self) -> tuple[ApiKey, ...]:
        """The configured keys, or the documented demo keys when none is configured."""
        return self.api_keys or tuple(ApiKey(*k) for k in DEMO_KEYS)


# --- parsers: str (or YAML value) -> typed value; raise ValueError with a short reason -------------
def _int(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not re.fullmatch(r"-?\d{1,19}", str(value).strip()):
            raise ValueError(f"must be a whole number from {low} to {high}")
        number = int(str(value).strip())
        if not low <= number <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return number

    return parse


def _api_key(value: Any) -> ApiKey:
    if isinstance(value, dict):
        unknown = set(value) - {"key", "credits", "active"}
        if unknown or "key" not in value:
            raise ValueError("each key needs 'key' and may have 'credits' and 'active'")
        key = _key_text(str(value["key"]))
        credits = _int(0, 10**15)(value.get("credits", DEMO_KEYS[0][1]))
        active = value.get("active", True)
        if not isinstance(active, bool):
            raise ValueError("'active' must be true or false")
        return ApiKey(key, credits, active)
    text = str(value).strip()
    key, _, credit_text = text.rpartition(":") if ":" in text else (text, "", "")
    return ApiKey(_key_text(key), _int(0, 10**15)(credit_text) if credit_text else DEMO_KEYS[0][1])


def _key_text(key: str) -> str:
    if not re.fullmatch(r"[\x21-\x7e]{1,512}", key) or ":" in key or "," in key:
        raise ValueError("a key is 1-512 printable characters without spaces, ':' or ','")
    return key


def _api_keys(value: Any) -> tuple[ApiKey, ...]:
    items = value if isinstance(value, list) else [v for v in str(value).split(",") if v.strip()]
    keys = tuple(_api_key(item) for item in items)
    if len({k.key for k in keys}) != len(keys):
        raise ValueError("the same key is given twice")
    return keys


def parse_rate_limit(value: Any) -> RateLimit:
    """`2/s`, `2/second`, `600/min`, `2/10s`: the one rate-limit syntax of every command."""
    match = re.fullmatch(r"\s*(\d{1,12})\s*/\s*(\d{0,6})\s*([a-z]+)\s*", str(value).lower())
    if not match or match.group(3) not in PERIODS or int(match.group(1)) < 1 or int(match.group(2) or 1) == 0:
        raise ValueError(f"must look like 600/minute or 2/s ({RATE_LIMIT_SYNTAX})")
    return RateLimit(int(match.group(1)), int(match.group(2) or 1) * PERIODS[match.group(3)])


_rate_limit = parse_rate_limit


def _seconds(low: float, high: float) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        text = str(value).strip()
        if isinstance(value, bool) or not re.fullmatch(r"\d{1,6}(\.\d{1,3})?", text) or not low <= float(text) <= high:
            raise ValueError(f"must be a number of seconds from {low:g} to {high:g}")
        return float(text)

    return parse


SIZE_UNITS = {
    "": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
}


def _bytes(low: int, high: int) -> Callable[[Any], int]:
    """A size: plain bytes, or with a unit, powers of 1024 as nginx reads them (64MB = 64MiB)."""

    def parse(value: Any) -> int:
        match = re.fullmatch(r"\s*(\d{1,12})\s*([a-z]*)\s*", str(value).lower())
        if isinstance(value, bool) or not match or match.group(2) not in SIZE_UNITS:
            raise ValueError(f"must be a size in bytes, optionally with KB, MB or GB (from {low} to {high})")
        number = int(match.group(1)) * SIZE_UNITS[match.group(2)]
        if not low <= number <= high:
            raise ValueError(f"must be a size from {low} to {high} bytes")
        return number

    return parse


def _log_level(value: Any) -> str:
    level = str(value).strip().lower()
    if level not in ("critical", "error", "warning", "info", "debug"):
        raise ValueError("must be one of critical, error, warning, info, debug")
    return level


def _validation(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in VALIDATIONS:
        raise ValueError(f"must be one of {', '.join(VALIDATIONS)}")
    return text


def _fidelity(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in FIDELITIES:
        raise ValueError(f"must be one of {', '.join(FIDELITIES)}")
    return text


def _quirks(value: Any) -> tuple[str, ...]:
    """`pinned,duplicates` (or a YAML list); `all` is every quirk, `none` (or nothing) none."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    names = [str(item).strip().lower() for item in items if str(item).strip()]
    if names in (["all"], ["none"]):
        return QUIRKS if names == ["all"] else ()
    unknown = [name for name in names if name not in QUIRKS]
    if unknown:
        raise ValueError(
            f"unknown quirk {unknown[0]!r}: must be all, none, or comma-separated names from {', '.join(QUIRKS)}"
        )
    return tuple(q for q in QUIRKS if q in names)  # canonical order: the same set is the same setting


def _retry_after(value: Any) -> str:
    text = str(value).strip().lower()
    if text in ("off", "window") or (re.fullmatch(r"\d{1,5}", text) and int(text) <= 86_400):
        return str(int(text)) if text.isdigit() else text
    raise ValueError("must be off, window, or whole seconds from 0 to 86400")


def _faults(value: Any) -> tuple[Mapping[str, Any], ...]:
    """Faults as YAML or JSON: a mapping, or a list of them (`--fault` is repeatable). Their
    fields are checked against the admin API's schema when the mock starts (faults/spec.py)."""
    items = value if isinstance(value, list) else [value]
    faults: list[Mapping[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            try:
                item = yaml.safe_load(item)
            except yaml.YAMLError:
                raise ValueError(
                    "a fault is a YAML or JSON mapping, e.g. '{steps: [503, reset, 200], match: {page: 3}}'"
                ) from None
        for fault in item if isinstance(item, list) else [item]:
            if not isinstance(fault, dict):
                raise ValueError(
                    "a fault is a YAML or JSON mapping, e.g. '{steps: [503, reset, 200], match: {page: 3}}'"
                )
            faults.append(_sorted(fault))
    return tuple(faults)


def _sorted(value: Any) -> Any:
    """Mappings with their keys in order: the same fault from a flag and a file is the same value."""
    if isinstance(value, dict):
        return {str(k): _sorted(value[k]) for k in sorted(value, key=str)}
    return [_sorted(v) for v in value] if isinstance(value, list) else value


def _origins(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value).split(",")
    origins = tuple(str(item).strip().rstrip("/") for item in items if str(item).strip())
    if not origins or any(
        o != "*"
        and not re.fullmatch(
            r"https?://[A-Za-z0-9.\-]{1,253}(:\d{1,5})?|https?://\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?", o
        )
        for o in origins
    ):
        raise ValueError("must be * or comma-separated origins like http://localhost:3000")
    return origins


def _host(value: Any) -> str:
    host = str(value).strip()
    if not re.fullmatch(r"[A-Za-z0-9.:\-\[\]]{1,253}", host):
        raise ValueError("must be an IP address or host name")
    return host


def _path(value: Any) -> Path:
    text = str(value).strip()
    if not text or "\x00" in text:
        raise ValueError("must be a file path")
    return Path(text).expanduser()


def _existing_file(value: Any) -> Path:
    path = _path(value)
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not a file")
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    return path


def _handles(value: Any) -> Mapping[str, int]:
    if isinstance(value, str):  # the environment's form: "handle=count,handle=count"
        pairs = [item.partition("=") for item in value.split(",") if item.strip()]
        if any(not sep for _, sep, _ in pairs):
            raise ValueError("must look like handle=count,handle=count")
        value = {handle.strip(): count.strip() for handle, _, count in pairs}
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of handle: number of videos")
    parse = _int(0, 10_000_000)
    return {str(handle).lstrip("@"): parse(count) for handle, count in value.items()}


def _url(value: Any) -> str:
    text = str(value).strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        raise ValueError("must be an http:// or https:// base URL")
    return text


def _token(value: Any) -> str:
    text = str(value)
    if len(text) < 8 or not re.fullmatch(r"[\x21-\x7e]+", text):
        raise ValueError("must be at least 8 printable characters without spaces")
    return text


PARSERS: dict[str, Callable[[Any], Any]] = {
    "host": _host,
    "port": _int(0, 65535),
    "seed": _int(0, 2**63 - 1),
    "config": _existing_file,
    "api_keys": _api_keys,
    "rate_limit": _rate_limit,
    "log_level": _log_level,
    "state": _path,
    "workers": _int(1, 64),
    "admin_token": _token,
    "journal_limit": _int(1, 10_000_000),
    "journal_max_bytes": _bytes(64 * 1024, 64 * 1024**3),
    "max_body_bytes": _int(256, 64 * 1024 * 1024),
    "client_timeout": _seconds(0.1, 3600),
    "page_size": _int(1, 100),
    "handles": _handles,
    "contract": _existing_file,
    "overlay": _existing_file,
    "upstream": _url,
    "validation": _validation,
    "retry_after": _retry_after,
    "faults": _faults,
    "cors": _origins,
    "fidelity": _fidelity,
    "quirks": _quirks,
}
_DEFAULTS: dict[str, Any] = {}  # filled below from the dataclass's declared defaults
FLAG_NAMES = {name: "--" + name.replace("_", "-") for name in PARSERS}
FLAG_NAMES["api_keys"] = "--api-key"
FLAG_NAMES["faults"] = "--fault"
ENV_NAMES = {name: ENV_PREFIX + name.upper() for name in PARSERS}


def parse(name: str, raw: Any, source: str) -> Any:
    """One setting's value from its raw form, or a one-line SettingsError naming `source`."""
    try:
        return PARSERS[name](raw)
    except ValueError as exc:
        shown = (
            "(hidden)"
            if name in ("admin_token", "api_keys")
            else repr(mask_text(str(raw), url_secrets(str(raw))) if name == "upstream" else raw)
        )
        raise SettingsError(f"{source}: {exc} (got {shown})") from None


def _given(settings: Settings) -> dict[str, Any]:
    """The fields that differ from their defaults (defaults need no check); never `config`,
    which is read once, by `resolve`."""
    return {
        f.name: getattr(settings, f.name)
        for f in dataclasses.fields(settings)
        if f.name in PARSERS and f.name != "config" and getattr(settings, f.name) != _DEFAULTS.get(f.name)
    }


def _as_raw(value: Any) -> Any:
    """A typed value in the form its parser reads (the parsers read text, lists and dicts)."""
    if isinstance(value, ApiKey):
        return {"key": value.key, "credits": value.credits, "active": value.active}
    if isinstance(value, RateLimit):
        return (
            f"{value.requests}/{value.period_s}second"
            if isinstance(value.requests, int) and isinstance(value.period_s, int)
            else str(value)
        )
    if isinstance(value, (tuple, list)):
        return [_as_raw(item) for item in value]
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Path):
        return str(value)
    return value


def from_options(options: Mapping[str, Any], aliases: Mapping[str, str] | None = None) -> Settings:
    """Settings from keyword options (the pytest fixture, the Python API): each value goes
    through the CLI's parser and fails with the CLI's message, naming the option."""
    aliases = aliases or {}
    values: dict[str, Any] = {}
    for option, raw in options.items():
        name = aliases.get(option, option)
        if name not in PARSERS:
            known = ", ".join(sorted({*aliases, *PARSERS} - set(aliases.values())))
            raise SettingsError(f"unknown option {option!r} (known: {known})")
        if raw is not None:
            values[name] = parse(name, _as_raw(raw), option)
    config = values.pop("config", None)
    if config is not None:
        for name, raw in load_config_file(config).items():
            values.setdefault(name, parse(name, raw, f"config file {config}: {name}"))
    return Settings(config=config, **values)


def load_config_file(path: Path) -> dict[str, Any]:
    """The YAML (or JSON) config file: a mapping whose keys are the settings' names."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"config file {path}: cannot read it ({exc.strerror or exc})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise SettingsError(f"config file {path}: not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path}: expected a mapping of setting: value")
    unknown = sorted(set(data) - set(PARSERS) - {"config"})
    if unknown:
        raise SettingsError(f"config file {path}: unknown key '{unknown[0]}' (known: {', '.join(sorted(PARSERS))})")
    return data


def resolve(flags: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    """Merge flags > environment > config file > defaults into one validated Settings."""
    values: dict[str, Any] = {}

    def take(name: str, raw: Any, source: str) -> None:
        values[name] = parse(name, raw, source)

    config_raw = flags.get("config") or env.get(ENV_NAMES["config"])
    if config_raw:
        take("config", config_raw, FLAG_NAMES["config"] if flags.get("config") else ENV_NAMES["config"])
        for name, raw in load_config_file(values["config"]).items():
            take(name, raw, f"config file {values['config']}: {name}")
    for name in PARSERS:
        if name != "config" and env.get(ENV_NAMES[name], "") != "":
            take(name, env[ENV_NAMES[name]], ENV_NAMES[name])
    for name in PARSERS:
        raw = flags.get(name)
        if name != "config" and raw not in (None, [], ""):
            take(name, ",".join(raw) if isinstance(raw, list) and name != "faults" else raw, FLAG_NAMES[name])
    return dataclasses.replace(Settings(), **values)


def _declared_default(f: dataclasses.Field[Any]) -> Any:
    """A field's default value, or a fresh one from its default_factory; every Settings field declares one."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise TypeError(f"Settings.{f.name} declares no default")


_DEFAULTS.update({f.name: _declared_default(f) for f in dataclasses.fields(Settings)})


def settings_to_json(settings: Settings) -> str:
    """What `serve --workers N` hands each worker (through the environment); `settings_from_json` reads it back."""
    data = dataclasses.asdict(settings)
    return orjson.dumps(data, default=str).decode()


def settings_from_json(text: str) -> Settings:
    data: dict[str, Any] = orjson.loads(text)
    for name in ("config", "state", "contract", "overlay"):
        data[name] = Path(data[name]) if data[name] else None
    data["api_keys"] = tuple(ApiKey(**k) for k in data["api_keys"])
    data["rate_limit"] = RateLimit(**data["rate_limit"])
    data["cors"] = tuple(data.get("cors") or ())
    data["faults"] = tuple(data["faults"])
    data["quirks"] = tuple(data.get("quirks") or ())
    return Settings(**data)
