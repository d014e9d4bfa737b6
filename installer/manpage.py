"""fieldcase(1), the manual page the .deb installs, made from the command line's own parser
(app/cli/parser.py), so every command and option it lists is one the program has."""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

from app.cli.parser import build_parser

EXIT_CODES = (
    ("0", "success"),
    ("1", "a problem, said in the line (a wrong password, a read-only folder, a full disk)"),
    ("2", "bad input: an unknown field or value, or an address that may not be used"),
    ("3", "the profile's data file is damaged or missing"),
    ("4", "no such case, note, visit or document on this laptop"),
    ("5", "a sync could not finish; nothing was lost: try again later"),
    ("6", "IT removed this laptop and its data was erased"),
    ("7", "this version of Fieldcase is too old for the service"),
    ("70", "something Fieldcase did not expect: the line names the log and an incident id"),
    ("78", "the site policy is malformed"),
    ("130", "stopped by Ctrl-C; nothing half-written is kept"),
)


def _roff(text: str) -> str:
    """Text safe in a roff line: backslashes and leading dots or quotes escaped."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def _commands(parser: argparse.ArgumentParser) -> list[tuple[str, str, str]]:
    """(command, arguments, help) for each command and sub-command, in the parser's order."""
    found: list[tuple[str, str, str]] = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
        for name, child in action.choices.items():
            usage = " ".join(child.format_usage().removeprefix("usage: ").split())
            usage = usage.removeprefix(child.prog).replace("[-h]", "").strip()
            inner = _commands(child)
            if inner:
                found += [(f"{name} {sub}", args, text) for sub, args, text in inner]
            else:
                found.append((name, usage, helps.get(name, "")))
    return found


def render(version: str) -> str:
    parser = build_parser()
    lines = [
        f'.TH FIELDCASE 1 "" "Fieldcase {version}" "User Commands"',
        ".SH NAME",
        "fieldcase \\- offline\\-first, encrypted casework for council field staff",
        ".SH SYNOPSIS",
        ".B fieldcase",
        "[\\fB\\-\\-profile\\fR \\fIDIR\\fR] [\\fICOMMAND\\fR ...]",
        ".SH DESCRIPTION",
        "Without a command, \\fBfieldcase\\fR opens the Fieldcase window. With one, it does the",
        "same work as the window from the command line, for IT scripts and the help desk.",
        "Every failure prints one plain line on standard error and exits with a code below.",
        ".SH OPTIONS",
        ".TP",
        "\\fB\\-\\-profile\\fR \\fIDIR\\fR",
        "The profile folder (default: \\fBFIELDCASE_PROFILE\\fR, else your user data folder).",
        ".TP",
        "\\fB\\-\\-version\\fR",
        "Print the version and exit.",
        ".SH COMMANDS",
    ]
    for name, args, text in _commands(parser):
        lines += [".TP", f"\\fB{_roff(name)}\\fR {_roff(args)}".rstrip(), _roff(text or "-")]
    lines += [
        ".SH ENVIRONMENT",
        ".TP",
        ".B FIELDCASE_PROFILE",
        "The profile folder, when \\fB\\-\\-profile\\fR is not given.",
        ".TP",
        ".B FIELDCASE_PASSWORD",
        "The profile's password, for scripts; without it, commands ask without echoing.",
        ".TP",
        ".B FIELDCASE_NEW_PASSWORD",
        "The new password for \\fBpasswd\\fR.",
        ".SH FILES",
        ".TP",
        ".I /etc/fieldcase/site.toml",
        "The site policy IT sets for every user (service address, auto\\-lock, proxy, ...).",
        ".TP",
        ".I ~/.local/share/Fieldcase",
        "Each user's encrypted profile. Removing the package never touches it.",
        ".TP",
        ".I ~/.local/state/Fieldcase/log/fieldcase.log",
        "The log (never case content); \\fBfieldcase doctor\\fR prints its path.",
        ".TP",
        ".I /opt/fieldcase/sbom.cdx.json",
        "The bundled components and their licences; the texts are in",
        ".IR /opt/fieldcase/licences .",
        ".SH EXIT STATUS",
    ]
    for code, meaning in EXIT_CODES:
        lines += [".TP", f".B {code}", _roff(meaning)]
    lines += [
        ".SH SEE ALSO",
        "The guides for caseworkers and IT in",
        ".IR /usr/share/doc/fieldcase .",
    ]
    return "\n".join(lines) + "\n"


def write(path: Path, version: str) -> Path:
    """fieldcase.1, gzipped as Debian wants it (no name or time in the header: reproducible)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as packed,
    ):
        packed.write(render(version).encode("utf-8"))
    return path
