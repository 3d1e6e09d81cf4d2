"""Validation of what a bot sends to Discord.

Two layers:

* the JSON schema of the operation's ``requestBody`` in Discord's own OpenAPI 3.1
  description (``discord-api-spec/openapi.json``), checked with jsonschema Draft 2020-12
  and a ``referencing`` registry over the whole spec;
* the documented limits that the spec leaves out (message and embed sizes, command
  names, the "no pings" rule for a bot that relays internet text, ...).

Every check returns a list of human-readable problems (empty when the body is fine),
so callers can collect them instead of stopping at the first one.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

try:  # the third-party ``regex`` module knows \p{L}; fall back to unicodedata without it
    import regex as _regex
except ImportError:  # pragma: no cover - depends on the environment
    _regex = None

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "discord-api-spec" / "openapi.json"
SPEC_URI = "urn:discord:openapi"

# Documented limits (https://discord.com/developers/docs) that openapi.json omits or loosens.
CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
ACTION_ROWS_MAX = 5
COMMAND_OPTIONS_MAX = 25
COMMAND_CHARS_MAX = 8000
CHOICES_MAX = 25
IS_COMPONENTS_V2 = 1 << 15

# Keys discord.py sends that the spec does not list (known false positives).
EXTRA_KEYS: dict[str, dict[str, Any]] = {
    "ApplicationCommandCreateRequest": {"nsfw": {"type": ["boolean", "null"]}},
    "ApplicationCommandUpdateRequest": {"nsfw": {"type": ["boolean", "null"]}},
    "ApplicationCommandPatchRequestPartial": {"nsfw": {"type": ["boolean", "null"]}},
    "RichEmbed": {"flags": {"type": ["integer", "null"]}},
    # discord.py's message edits (callback type 7, webhook/@original PATCH) always send "tts"
    "IncomingWebhookUpdateForInteractionCallbackRequestPartial": {
        "tts": {"type": ["boolean", "null"]}
    },
    "IncomingWebhookUpdateRequestPartial": {"tts": {"type": ["boolean", "null"]}},
    "MessageEditRequestPartial": {"tts": {"type": ["boolean", "null"]}},
}

UNKNOWN_KEY = "Additional properties are not allowed"
MENTIONS = "allowed_mentions"


def is_soft(problem: str) -> bool:
    """True for problems Discord itself lets through (unknown keys, pings allowed).

    The fake records them as violations but still answers the request normally.
    """
    return problem.startswith(MENTIONS) or UNKNOWN_KEY in problem


# Interaction callback type -> schema of that branch of the spec's anyOf.
CALLBACK_SCHEMAS = {
    1: "PongInteractionCallbackRequest",
    4: "CreateMessageInteractionCallbackRequest",
    5: "CreateMessageInteractionCallbackRequest",
    6: "UpdateMessageInteractionCallbackRequest",
    7: "UpdateMessageInteractionCallbackRequest",
    8: "ApplicationCommandAutocompleteCallbackRequest",
    9: "ModalInteractionCallbackRequest",
    12: "LaunchActivityInteractionCallbackRequest",
}

_NAME_PATTERN = r"^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$"
_NAME_RE = _regex.compile(_NAME_PATTERN) if _regex is not None else None


def is_valid_command_name(name: str) -> bool:
    """True when ``name`` matches Discord's ``^[-_'\\p{L}\\p{N}]{1,32}$`` (Devanagari, Thai too)."""
    if _NAME_RE is not None:
        return bool(_NAME_RE.match(name))
    if not 1 <= len(name) <= 32:  # pragma: no cover - only without ``regex``
        return False
    return all(_name_char_ok(ch) for ch in name)  # pragma: no cover


def _name_char_ok(ch: str) -> bool:
    """unicodedata emulation of the name character class."""
    if ch in "-_'":
        return True
    if "\u0900" <= ch <= "\u097f" or "\u0e00" <= ch <= "\u0e7f":
        return True
    return unicodedata.category(ch)[0] in "LN"


# ---------------------------------------------------------------------------
# Schema layer
# ---------------------------------------------------------------------------


def _format_checker() -> FormatChecker:
    """Format checks Discord applies to URLs and timestamps (jsonschema skips them by default)."""
    checker = FormatChecker(formats=())

    @checker.checks("uri", raises=ValueError)
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        if parts.scheme in ("http", "https"):
            return bool(parts.netloc)
        return parts.scheme == "attachment" and bool(parts.netloc or parts.path)

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if isinstance(value, str):
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    return checker


def _close_objects(node: Any) -> None:
    """Forbid unknown keys in every object schema that lists its properties."""
    if isinstance(node, dict):
        if (
            "properties" in node
            and "additionalProperties" not in node
            and "patternProperties" not in node
            and "allOf" not in node
        ):
            node["additionalProperties"] = False
        for value in node.values():
            _close_objects(value)
    elif isinstance(node, list):
        for value in node:
            _close_objects(value)


def prepare_spec(raw: Mapping[str, Any], *, strict_keys: bool = True) -> dict[str, Any]:
    """A copy of the spec adjusted for discord.py: integer snowflakes, known extra keys.

    With ``strict_keys`` every object schema rejects keys it does not list, so a typo
    such as ``allowed_mention`` is reported instead of being silently ignored by Discord.
    """
    spec = copy.deepcopy(dict(raw))
    schemas = spec["components"]["schemas"]
    schemas["SnowflakeType"] = {
        "anyOf": [
            {"type": "string", "pattern": "^(0|[1-9][0-9]*)$"},
            {"type": "integer", "minimum": 0},
        ]
    }
    for name, extra in EXTRA_KEYS.items():
        if name in schemas:
            schemas[name].setdefault("properties", {}).update(extra)
    if strict_keys:
        _close_objects(schemas)
        _close_objects(spec["paths"])
    return spec


def _template_regex(template: str) -> re.Pattern[str]:
    """``/channels/{channel_id}/messages`` -> a regex matching concrete paths."""
    out = []
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{") and part.endswith("}"):
            out.append(r"[^/]+")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


class SchemaValidator:
    """Validates request bodies against the requestBody schemas of openapi.json."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        resource = DRAFT202012.create_resource(spec)
        self.registry: Registry = Registry().with_resource(SPEC_URI, resource)
        self.format_checker = _format_checker()
        # literal paths (e.g. ".../@original") must win over templated ones
        templates = sorted(spec["paths"], key=lambda t: t.count("{"))
        self._templates = [(t, _template_regex(t)) for t in templates]
        self._validators: dict[str, Draft202012Validator] = {}

    def template_for(self, path: str) -> str | None:
        """The spec path template matching a concrete path (without the /api/v10 prefix)."""
        for template, pattern in self._templates:
            if pattern.match(path):
                return template
        return None

    def _validator(self, pointer: str) -> Draft202012Validator:
        """A cached validator for the schema at ``pointer`` inside the spec."""
        found = self._validators.get(pointer)
        if found is None:
            schema = {"$ref": f"{SPEC_URI}#{pointer}"}
            found = Draft202012Validator(
                schema, registry=self.registry, format_checker=self.format_checker
            )
            self._validators[pointer] = found
        return found

    def check(self, pointer: str, body: Any) -> list[str]:
        """Problems found validating ``body`` against the schema at JSON pointer ``pointer``."""
        errors = list(self._validator(pointer).iter_errors(body))
        return [_describe(err) for err in errors]

    def check_request(self, method: str, template: str, body: Any) -> list[str]:
        """Validate a JSON request body for an operation; [] when it has no JSON body schema."""
        operation = self.spec["paths"].get(template, {}).get(method.lower())
        if operation is None:
            return [f"{method} {template} is not an operation in openapi.json"]
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            if body is None:
                return []
            return [f"{method} {template} takes no JSON body"]
        if template.endswith("/callback") and isinstance(body, dict):
            return self.check_callback(body)
        escaped = template.replace("~", "~0").replace("/", "~1")
        pointer = f"/paths/{escaped}/{method.lower()}/requestBody/content/application~1json/schema"
        return self.check(_quote_pointer(pointer), body)

    def check_callback(self, body: Mapping[str, Any]) -> list[str]:
        """Validate an interaction callback, choosing the anyOf branch by ``type``."""
        name = CALLBACK_SCHEMAS.get(body.get("type"))  # type: ignore[arg-type]
        if name is None:
            return [f"interaction callback has unknown type {body.get('type')!r}"]
        return self.check(f"/components/schemas/{name}", body)


def _quote_pointer(pointer: str) -> str:
    """Percent-encode the braces of a JSON pointer so it can sit in a URI fragment."""
    return pointer.replace("{", "%7B").replace("}", "%7D").replace("@", "%40")


def _describe(error: ValidationError) -> str:
    """One line for a schema error, descending into oneOf/anyOf to the most relevant cause."""
    while error.context:
        # in ``oneOf: [{"type": "null"}, {...}]`` the null branch is never the interesting one
        causes = [
            e for e in error.context if not (e.validator == "type" and e.validator_value == "null")
        ]
        error = best_match(causes or error.context) or error
    where = "/".join(str(p) for p in error.absolute_path) or "(body)"
    return f"{where}: {error.message}"


@lru_cache(maxsize=4)
def load_spec(path: str = str(SPEC_PATH), strict_keys: bool = True) -> dict[str, Any]:
    """Read and prepare openapi.json once per process.

    Skips the calling test (with the reason) when the shared spec is absent:
    the loopback Discord validates every request against it or not at all.
    """
    if not Path(path).exists():
        import pytest

        pytest.skip(f"Discord's OpenAPI description not found at {path} (CI always has it)")
    with open(path, encoding="utf-8") as fh:
        return prepare_spec(json.load(fh), strict_keys=strict_keys)


@lru_cache(maxsize=4)
def schema_validator(path: str = str(SPEC_PATH), strict_keys: bool = True) -> SchemaValidator:
    """A shared :class:`SchemaValidator` (building one costs ~0.1 s)."""
    return SchemaValidator(load_spec(path, strict_keys))


# ---------------------------------------------------------------------------
# Documented limits the spec leaves out
# ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def embed_chars(embed: Mapping[str, Any]) -> int:
    """Characters Discord counts towards the 6000 limit for one embed."""
    total = len(_text(embed.get("title"))) + len(_text(embed.get("description")))
    for field in embed.get("fields") or []:
        total += len(_text(field.get("name"))) + len(_text(field.get("value")))
    total += len(_text((embed.get("footer") or {}).get("text")))
    total += len(_text((embed.get("author") or {}).get("name")))
    return total


def check_embeds(embeds: Iterable[Mapping[str, Any]]) -> list[str]:
    """Size limits of a message's embeds (each and all together)."""
    embeds = list(embeds)
    problems: list[str] = []
    if len(embeds) > EMBEDS_MAX:
        problems.append(f"embeds: {len(embeds)} embeds, at most {EMBEDS_MAX}")
    for i, embed in enumerate(embeds):
        limits = (
            ("title", _text(embed.get("title")), EMBED_TITLE_MAX),
            ("description", _text(embed.get("description")), EMBED_DESCRIPTION_MAX),
            ("footer.text", _text((embed.get("footer") or {}).get("text")), EMBED_FOOTER_MAX),
            ("author.name", _text((embed.get("author") or {}).get("name")), EMBED_AUTHOR_MAX),
        )
        for key, value, limit in limits:
            if len(value) > limit:
                problems.append(f"embeds/{i}/{key}: {len(value)} characters, at most {limit}")
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            problems.append(f"embeds/{i}/fields: {len(fields)} fields, at most {EMBED_FIELDS_MAX}")
        for j, field in enumerate(fields):
            name, value = _text(field.get("name")), _text(field.get("value"))
            if not name.strip() or not value.strip():
                problems.append(f"embeds/{i}/fields/{j}: name and value must not be blank")
            if len(name) > EMBED_FIELD_NAME_MAX:
                problems.append(f"embeds/{i}/fields/{j}/name: {len(name)} characters, at most 256")
            if len(value) > EMBED_FIELD_VALUE_MAX:
                problems.append(
                    f"embeds/{i}/fields/{j}/value: {len(value)} characters, at most 1024"
                )
    total = sum(embed_chars(e) for e in embeds)
    if total > EMBED_TOTAL_MAX:
        problems.append(f"embeds: {total} characters in all embeds, at most {EMBED_TOTAL_MAX}")
    return problems


def check_allowed_mentions(body: Mapping[str, Any]) -> list[str]:
    """Text relayed from the internet must never ping: ``allowed_mentions.parse`` must be []."""
    mentions = body.get("allowed_mentions")
    if not isinstance(mentions, Mapping):
        return ["allowed_mentions missing: send discord.AllowedMentions.none() ({'parse': []})"]
    if mentions.get("parse") != []:
        return [f"allowed_mentions.parse is {mentions.get('parse')!r}, must be [] (no pings)"]
    return []


def check_message(
    body: Mapping[str, Any], *, creating: bool = True, has_files: bool = False
) -> list[str]:
    """Documented limits for a message create (``creating``) or edit body.

    A create must not be empty and must carry ``allowed_mentions`` with ``parse: []``;
    an edit must carry it whenever it sets ``content``.
    """
    problems: list[str] = []
    content = _text(body.get("content"))
    if len(content) > CONTENT_MAX:
        problems.append(f"content: {len(content)} characters, at most {CONTENT_MAX}")
    problems += check_embeds(body.get("embeds") or [])
    components = body.get("components") or []
    flags = body.get("flags") or 0
    if not flags & IS_COMPONENTS_V2 and len(components) > ACTION_ROWS_MAX:
        problems.append(f"components: {len(components)} action rows, at most {ACTION_ROWS_MAX}")
    if creating:
        parts = ("embeds", "components", "sticker_ids", "attachments", "poll")
        if not content.strip() and not has_files and not any(body.get(k) for k in parts):
            problems.append("message is empty: no content, embeds, components, files or poll")
    if creating or "content" in body:
        problems += check_allowed_mentions(body)
    return problems


def _longest(value: Any, localizations: Any) -> int:
    """Length of the longest of a default string and its localizations."""
    lengths = [len(_text(value))]
    if isinstance(localizations, Mapping):
        lengths += [len(_text(v)) for v in localizations.values()]
    return max(lengths)


def command_chars(node: Mapping[str, Any]) -> int:
    """Characters Discord counts towards the 8000 per-command limit."""
    total = _longest(node.get("name"), node.get("name_localizations"))
    total += _longest(node.get("description"), node.get("description_localizations"))
    for choice in node.get("choices") or []:
        total += _longest(choice.get("name"), choice.get("name_localizations"))
        total += len(str(choice.get("value", "")))
    for option in node.get("options") or []:
        total += command_chars(option)
    return total


def _check_names_and_descriptions(node: Mapping[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    name = _text(node.get("name"))
    if not is_valid_command_name(name):
        problems.append(f"{where}: name {name!r} does not match ^[-_'\\p{{L}}\\p{{N}}]{{1,32}}$")
    elif name != name.lower():
        problems.append(f"{where}: name {name!r} must be lower case")
    description = _text(node.get("description"))
    if not 1 <= len(description) <= 100:
        problems.append(f"{where}: description must be 1-100 characters, got {len(description)}")
    return problems


def _check_options(options: list[Mapping[str, Any]], where: str) -> list[str]:
    problems: list[str] = []
    if len(options) > COMMAND_OPTIONS_MAX:
        problems.append(f"{where}: {len(options)} options, at most {COMMAND_OPTIONS_MAX}")
    names = [o.get("name") for o in options]
    if len(set(names)) != len(names):
        problems.append(f"{where}: duplicate option names {names}")
    seen_optional = False
    for option in options:
        here = f"{where}/{option.get('name')}"
        problems += _check_names_and_descriptions(option, here)
        if option.get("type") not in (1, 2):
            if option.get("required"):
                if seen_optional:
                    problems.append(f"{here}: required options must come before optional ones")
            else:
                seen_optional = True
        choices = option.get("choices") or []
        if len(choices) > CHOICES_MAX:
            problems.append(f"{here}: {len(choices)} choices, at most {CHOICES_MAX}")
        if choices and option.get("autocomplete"):
            problems.append(f"{here}: autocomplete options cannot have choices")
        problems += _check_options(list(option.get("options") or []), here)
    return problems


def check_command(command: Mapping[str, Any]) -> list[str]:
    """Documented limits for one application command definition."""
    kind = command.get("type") or 1
    where = f"command {command.get('name')!r}"
    problems: list[str] = []
    if kind == 1:
        problems += _check_names_and_descriptions(command, where)
        problems += _check_options(list(command.get("options") or []), where)
    elif not 1 <= len(_text(command.get("name"))) <= 32:
        problems.append(f"{where}: name must be 1-32 characters")
    chars = command_chars(command)
    if chars > COMMAND_CHARS_MAX:
        problems.append(f"{where}: {chars} characters in total, at most {COMMAND_CHARS_MAX}")
    return problems


def check_commands(commands: Any) -> list[str]:
    """Limits for a bulk-overwrite command list (each command, unique names per type)."""
    if not isinstance(commands, list):
        return []
    problems: list[str] = []
    seen: set[tuple[Any, Any]] = set()
    for command in commands:
        if not isinstance(command, Mapping):
            continue
        key = (command.get("type") or 1, command.get("name"))
        if key in seen:
            problems.append(f"command {command.get('name')!r} defined twice")
        seen.add(key)
        problems += check_command(command)
    return problems


def check_autocomplete(body: Mapping[str, Any]) -> list[str]:
    """At most 25 autocomplete choices, each name 1-100 characters."""
    choices = (body.get("data") or {}).get("choices") or []
    problems = []
    if len(choices) > CHOICES_MAX:
        problems.append(f"autocomplete: {len(choices)} choices, at most {CHOICES_MAX}")
    for i, choice in enumerate(choices):
        if not 1 <= len(_text(choice.get("name"))) <= 100:
            problems.append(f"autocomplete/choices/{i}: name must be 1-100 characters")
    return problems


def check_limits(method: str, template: str, body: Any, *, has_files: bool = False) -> list[str]:
    """The documented limits that apply to one operation's body (by spec path template)."""
    if not isinstance(body, Mapping | list):
        return []
    method = method.upper()
    if template.endswith("/commands") and method == "PUT":
        return check_commands(body)
    if "/commands" in template and method in ("POST", "PATCH") and isinstance(body, Mapping):
        return check_command(body)
    if not isinstance(body, Mapping):
        return []
    if template.endswith("/callback"):
        return check_callback_limits(body)
    if template in ("/channels/{channel_id}/messages", "/webhooks/{webhook_id}/{webhook_token}"):
        if method == "POST":
            return check_message(body, creating=True, has_files=has_files)
    if template.startswith(
        ("/channels/{channel_id}/messages/", "/webhooks/{webhook_id}/{webhook_token}/messages/")
    ):
        if method == "PATCH":
            return check_message(body, creating=False)
    return []


def check_callback_limits(body: Mapping[str, Any]) -> list[str]:
    """Documented limits for an interaction callback body, by callback type."""
    kind = body.get("type")
    data = body.get("data") or {}
    if kind == 4:
        return check_message(data, creating=True)
    if kind == 7:
        return check_message(data, creating=False)
    if kind == 8:
        return check_autocomplete(body)
    return []


__all__ = [
    "SPEC_PATH",
    "SchemaValidator",
    "check_allowed_mentions",
    "check_autocomplete",
    "check_callback_limits",
    "check_command",
    "check_commands",
    "check_embeds",
    "check_limits",
    "check_message",
    "command_chars",
    "embed_chars",
    "is_soft",
    "is_valid_command_name",
    "load_spec",
    "prepare_spec",
    "schema_validator",
]
