"""Typed slash-command lines (`/settings region country:AU`) to interaction data.

The option names, types, choices and which options are required come from the commands
the bot itself synced to the local Discord, so the demo accepts exactly what Discord's
client would offer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class OptionType(IntEnum):
    """Discord's application-command option types used by the bot."""

    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10


GROUP_TYPES = (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_OPTION_START = re.compile(r"(?:^|\s)([a-z0-9_-]+):", re.IGNORECASE)


class CommandLineError(ValueError):
    """A typed command the demo cannot send; the message says how to write it."""


@dataclass
class ParsedCommand:
    """Everything needed for an INTERACTION_CREATE of type 2."""

    name: str
    path: list[str]  # subcommand group / subcommand names, outermost first
    options: list[dict[str, Any]]  # the leaf's options, typed as Discord sends them
    resolved: dict[str, Any] = field(default_factory=dict)
    leaf: Mapping[str, Any] = field(default_factory=dict)

    def data(self, command: Mapping[str, Any]) -> dict[str, Any]:
        """The interaction's `data` for the synced `command`."""
        options: list[dict[str, Any]] = self.options
        for part, kind in reversed(list(zip(self.path, self._kinds(command), strict=True))):
            options = [{"name": part, "type": int(kind), "options": options}]
        data: dict[str, Any] = {"id": command["id"], "name": self.name, "type": 1,
                                "options": options}
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        if self.resolved:
            data["resolved"] = self.resolved
        return data

    def _kinds(self, command: Mapping[str, Any]) -> list[OptionType]:
        kinds, options = [], command.get("options") or []
        for part in self.path:
            opt = next(o for o in options if o["name"] == part)
            kinds.append(OptionType(opt["type"]))
            options = opt.get("options") or []
        return kinds


class Resolver:
    """Looks up channels and roles by name for CHANNEL and ROLE options."""

    def __init__(self, channels: Mapping[str, Mapping[str, Any]],
                 roles: Mapping[str, Mapping[str, Any]]):
        self.channels = {k.casefold(): v for k, v in channels.items()}
        self.roles = {k.casefold(): v for k, v in roles.items()}


def usage(name: str, leaf: Mapping[str, Any], path: list[str]) -> str:
    """`/settings region [country:...]`: how to write a command."""
    parts = [f"/{' '.join([name, *path])}"]
    for opt in leaf.get("options") or []:
        if OptionType(opt["type"]) in GROUP_TYPES:
            continue
        text = f"{opt['name']}:{_example(opt)}"
        parts.append(text if opt.get("required") else f"[{text}]")
    return " ".join(parts)


def subcommands(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [o for o in node.get("options") or [] if OptionType(o["type"]) in GROUP_TYPES]


def _example(opt: Mapping[str, Any]) -> str:
    if opt.get("choices"):
        return "|".join(str(c["value"]) for c in opt["choices"])
    return {OptionType.BOOLEAN: "True|False", OptionType.INTEGER: "N",
            OptionType.NUMBER: "N", OptionType.CHANNEL: "CHANNEL",
            OptionType.ROLE: "ROLE"}.get(OptionType(opt["type"]), "...")


def split_command(line: str) -> tuple[str, str]:
    """'/topic name:x' -> ('topic', 'name:x')."""
    body = line.strip().removeprefix("/")
    name, _, rest = body.partition(" ")
    return name.casefold(), rest.strip()


def walk(command: Mapping[str, Any], rest: str) -> tuple[Mapping[str, Any], list[str], str]:
    """Follow subcommand words from the start of `rest`: (leaf, path, remaining text)."""
    node, path = command, []
    while subs := subcommands(node):
        word, _, remaining = rest.partition(" ")
        match = next((s for s in subs if s["name"] == word.casefold()), None)
        if match is None:
            names = ", ".join(s["name"] for s in subs)
            raise CommandLineError(f"/{' '.join([command['name'], *path])} needs one of: "
                                   f"{names} (for example /{command['name']} "
                                   f"{subs[0]['name']})")
        node, path, rest = match, [*path, match["name"]], remaining.strip()
    return node, path, rest


def parse(command: Mapping[str, Any], rest: str, resolver: Resolver) -> ParsedCommand:
    """Parse the text after the command name against the synced `command`."""
    leaf, path, rest = walk(command, rest)
    declared = {o["name"]: o for o in leaf.get("options") or []}
    values = _split_values(rest, declared, command["name"], leaf, path)
    options, resolved = [], {}
    for name, raw in values.items():
        opt = declared[name]
        options.append({"name": name, "type": opt["type"],
                        "value": _convert(opt, raw, resolver, resolved)})
    missing = [n for n, o in declared.items() if o.get("required") and n not in values]
    if missing:
        raise CommandLineError(f"missing {', '.join(missing)}: "
                               f"{usage(command['name'], leaf, path)}")
    return ParsedCommand(command["name"], path, options, resolved, leaf)


def _split_values(rest: str, declared: Mapping[str, Any], name: str,
                  leaf: Mapping[str, Any], path: list[str]) -> dict[str, str]:
    """'name:post traumatic share:True' -> {'name': 'post traumatic', 'share': 'True'}.

    Text before the first `option:` goes to the first required option (or the only one),
    so `/topic naloxone` works too.
    """
    starts = [m for m in _OPTION_START.finditer(rest) if m[1].casefold() in declared]
    values: dict[str, str] = {}
    head = rest[:starts[0].start()] if starts else rest
    if head.strip():
        plain = [n for n, o in declared.items()
                 if OptionType(o["type"]) not in GROUP_TYPES]
        first = next((n for n in plain if declared[n].get("required")), None) or \
            (plain[0] if len(plain) == 1 else None)
        if first is None:
            raise CommandLineError(f"write options as name:value: {usage(name, leaf, path)}")
        values[first] = head.strip()
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(rest)
        values[m[1].casefold()] = rest[m.end():end].strip()
    return values


def _convert(opt: Mapping[str, Any], raw: str, resolver: Resolver,
             resolved: dict[str, Any]) -> Any:
    kind = OptionType(opt["type"])
    name = opt["name"]
    if kind is OptionType.BOOLEAN:
        word = raw.casefold()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise CommandLineError(f"{name}: must be True or False")
    if kind in (OptionType.INTEGER, OptionType.NUMBER):
        try:
            value: Any = int(raw) if kind is OptionType.INTEGER else float(raw)
        except ValueError:
            raise CommandLineError(f"{name}: must be a number") from None
        low, high = opt.get("min_value"), opt.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise CommandLineError(f"{name}: must be between {low} and {high}")
        return value
    if kind is OptionType.CHANNEL:
        channel = resolver.channels.get(raw.lstrip("#").casefold())
        if channel is None:
            raise CommandLineError(f"{name}: no channel called {raw!r}; channels: "
                                   + ", ".join(sorted(resolver.channels)))
        resolved.setdefault("channels", {})[channel["id"]] = {
            **{k: channel[k] for k in ("id", "name", "type", "guild_id", "parent_id")
               if k in channel}, "permissions": "0"}
        return channel["id"]
    if kind is OptionType.ROLE:
        role = resolver.roles.get(raw.lstrip("@").casefold())
        if role is None:
            raise CommandLineError(f"{name}: no role called {raw!r}; roles: "
                                   + ", ".join(sorted(resolver.roles)))
        resolved.setdefault("roles", {})[role["id"]] = dict(role)
        return role["id"]
    if kind is not OptionType.STRING:
        raise CommandLineError(f"{name}: the demo cannot fill this kind of option")
    if opt.get("choices"):
        for choice in opt["choices"]:
            if raw.casefold() in (str(choice["value"]).casefold(), choice["name"].casefold()):
                return choice["value"]
        raise CommandLineError(f"{name}: must be one of "
                               + ", ".join(str(c["value"]) for c in opt["choices"]))
    return raw
