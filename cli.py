"""Command line for the bpy-free core: one generation, or the list of providers.

    python -m vse_foley.cli generate --provider ID --video clip.mp4 \\
        --prompt "footsteps on gravel" --out sounds/steps.wav
    python -m vse_foley.cli providers          # the ids, and what each needs
    python -m vse_foley.cli measure sounds/steps.wav --json

Keys and base URLs come from the environment: each vendor's variables are listed by
--help and by the 'providers' command (from the vendor descriptions in
providers/vendor_spec.py). Progress goes to stderr; the written file's path is the last
stdout line (with --json: one JSON object with the path, loudness, peaks and flags).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .providers import PROVIDER_IDS, all_provider_infos, create_provider, provider_info
from .providers.base import AudioFile, FieldKind, GenerationRequest, ProviderInfo, TimedEvent
from .providers.catalog import VENDOR_NEEDS
from .providers.errors import CancelledError, FoleyError, InputError, SubmitUncertainError
from .providers.vendor_spec import VENDOR_SPECS

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNCERTAIN = 3  # the submit may have been charged: check the vendor before retrying
EXIT_INTERRUPTED = 130

_GENERATE_EPILOG = """\
The audio format is whatever the vendor returns, identified by its first bytes.
--out names the file; its extension is replaced by the real one (--out x.wav may
write x.mp3), and an existing file is never overwritten: _2, _3... is appended.
The path actually written is printed as the last line on stdout; with --json
that line is a JSON object: path, format, duration and the analysis (integrated
loudness in LUFS, sample and true peak, silent stretches, clipping, mono, sample
rate) with its flags.

Exit status: 0 written; 1 failed (the reason is on stderr); 2 wrong arguments;
3 the task may have been charged: the answer to the request that starts it was
lost and it was never sent again (a provider that sends its own task id looks the
task up by it for about five minutes first; the sentence names that id and where
to check);
130 interrupted.
"""


def _parse_event(text: str) -> TimedEvent:
    try:
        start, end, prompt = text.split(":", 2)
        return TimedEvent(float(start), float(end), prompt.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FROM:TO:PROMPT in seconds, got {text!r}") from None


def _parse_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), value.strip()


def _convert_option(info: ProviderInfo, key: str, raw: str) -> Any:
    spec = info.field(key)
    if spec is None:
        if key in info.extra_options:  # options a provider takes that are no UI fields
            return raw
        known = ", ".join(s.name for s in info.fields) or "none"
        raise InputError(f"{info.id} has no option '{key}'. Its options are: {known}.")
    try:
        if spec.kind is FieldKind.BOOL:
            lowered = raw.lower()
            if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(raw)
            return lowered in ("1", "true", "yes", "on")
        if spec.kind is FieldKind.INT:
            return int(raw)
        if spec.kind is FieldKind.FLOAT:
            return float(raw)
    except ValueError:
        raise InputError(f"Option {key} must be a {spec.kind.value}, not {raw!r}.") from None
    if spec.kind is FieldKind.CHOICE and raw not in (value for value, _ in spec.choices):
        raise InputError(f"Option {key} must be one of {', '.join(v for v, _ in spec.choices)}, not {raw!r}.")
    return raw


def _takers(field: str = "", *, timeline: bool = False) -> str:
    """The providers taking ``field`` (or timed events), for the help: the catalog says which."""
    ids = [info.id for info in all_provider_infos()
           if (timeline and info.input == "timeline") or (field and info.field(field) is not None)]
    return ", ".join(ids) or "no provider"


def environment_help() -> str:
    """Every vendor's environment variables, from the registered vendor specs (for --help)."""
    lines = ["Environment (an empty preference falls back to these; the CLI reads only these):"]
    for spec in VENDOR_SPECS:
        lines.append(f"  {spec.label}: {VENDOR_NEEDS[spec.id]}")
        optional = [field.env for field in spec.credentials if field.optional]
        if optional:
            lines.append(f"    optional: {', '.join(optional)}")
        if spec.url_env:
            lines.append(f"    base URL: {spec.url_env}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vse_foley.cli", description=__doc__.split("\n\n")[0],
                                     epilog=environment_help(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("providers", help="list provider ids and what each needs")
    gen = sub.add_parser(
        "generate",
        help="run one generation and print the written file's path",
        epilog=f"{_GENERATE_EPILOG}\n{environment_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument(
        "--provider",
        required=True,
        choices=tuple(PROVIDER_IDS),
        metavar="ID",
        help="provider id (see the 'providers' command)",
    )
    gen.add_argument("--video", type=Path, help="MP4/MOV clip (video providers)")
    gen.add_argument("--prompt", default="", help="main prompt (each provider's own prompt field)")
    gen.add_argument("--bgm-prompt", default="", help=f"music prompt ({_takers('bgm_prompt')})")
    gen.add_argument("--negative-prompt", default="", help=f"sounds to avoid ({_takers('negative_prompt')})")
    gen.add_argument(
        "--event",
        action="append",
        type=_parse_event,
        default=[],
        metavar="FROM:TO:PROMPT",
        help=f"timed sound event in seconds ({_takers(timeline=True)}); repeatable",
    )
    gen.add_argument(
        "--duration",
        type=float,
        help="seconds; defaults to the clip's length for video providers, else the provider default",
    )
    gen.add_argument("--seed", type=int, default=-1, help="-1 = random (default)")
    gen.add_argument("--asmr", action="store_true", help=f"ASMR mode ({_takers('asmr_mode')})")
    gen.add_argument(
        "--option",
        action="append",
        type=_parse_option,
        default=[],
        metavar="KEY=VALUE",
        help="any other provider option (e.g. top_k=50, model=musicgen); repeatable",
    )
    gen.add_argument(
        "--any-host",
        action="store_true",
        help="when the provider's host proves it made nothing (its own 503 refusal, or the request never "
        "left), use another host of the same model whose key is set; never after an uncertain answer",
    )
    gen.add_argument("--deadline", type=float, default=1800.0, help="give up waiting after this many seconds")
    gen.add_argument("--out", required=True, type=Path, help="output file; see below for the extension")
    gen.add_argument("-v", "--verbose", action="store_true", help="log HTTP steps (never keys) to stderr")
    gen.add_argument("--json", action="store_true", help="print the result and its figures as one JSON line")
    measure = sub.add_parser("measure", help="loudness, peaks and flags of an audio file (WAV)")
    measure.add_argument("file", type=Path)
    measure.add_argument("--scene-rate", type=int, default=0, help="flag a sample rate other than this (Hz)")
    measure.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    return parser


def _figures(path: Path, scene_rate: int = 0) -> dict[str, Any]:
    from .core.analysis import analyse_file, flags

    analysis = analyse_file(path)
    return {**analysis, "flags": flags(analysis, scene_rate)}


def _measure(args: argparse.Namespace) -> int:
    from .core.analysis import summary

    if not args.file.is_file():
        raise InputError(f"{args.file} does not exist; give the path of an audio file.")
    figures = _figures(args.file, args.scene_rate)
    if args.json:
        print(json.dumps({"path": str(args.file), **figures}, sort_keys=True))
    else:
        print("; ".join([summary(figures), *figures["flags"]]))
    return EXIT_OK if figures.get("measured") else EXIT_FAILED


def _list_providers() -> int:
    for info in all_provider_infos():
        needs = (
            "a video clip"
            if info.needs_video
            else ("timed events" if info.input == "timeline" else "a prompt")
        )
        options = ", ".join(spec.name for spec in info.fields) or "-"
        print(
            f"{info.id}\t{info.label}\tneeds {needs} ({info.min_seconds:g}-{info.max_seconds:g} s) and "
            f"{VENDOR_NEEDS[info.vendor]}\tfields: {options}"
        )
    return EXIT_OK


def _request(args: argparse.Namespace) -> GenerationRequest:
    info = provider_info(args.provider)
    options: dict[str, Any] = {key: _convert_option(info, key, raw) for key, raw in args.option}
    if args.asmr:
        options["asmr_mode"] = True
    duration: float | None = args.duration
    if args.video is not None and info.needs_video:
        from .providers.media import read_clip_info

        if duration is None:
            try:
                duration = read_clip_info(args.video).duration
            except (OSError, ValueError) as exc:
                raise InputError(f"Cannot read the clip {args.video} ({exc}); give --duration.") from None
    elif args.video is not None:
        raise InputError(f"{args.provider} takes no video; drop --video.")
    if duration is None:
        spec = info.field("duration")
        if spec is not None and spec.default is not None:
            duration = float(spec.default)
        elif info.needs_video:
            raise InputError(
                f"{args.provider} needs --video (and its length could not be read: give --duration)."
            )
        else:
            raise InputError(f"Give --duration in seconds for {args.provider}.")
    return GenerationRequest(
        provider_id=args.provider,
        duration=float(duration),
        prompt=args.prompt,
        video_path=str(args.video) if args.video is not None else None,
        bgm_prompt=args.bgm_prompt,
        negative_prompt=args.negative_prompt,
        seed=args.seed,
        events=tuple(args.event),
        options=options,
    )


def _generate_on_a_host(args: argparse.Namespace, request: GenerationRequest, dest_stem: Path) -> AudioFile:
    """The chosen host, then (``--any-host``) the next host of its model after a proven refusal only."""
    from .core.host_fallback import falls_back, job_hosts, unfit_reason, why_unavailable
    from .providers.model_hosts import host_label
    from .providers.one_shot import run_generation

    hosts = (job_hosts(args.provider, {}, os.environ) if args.any_host else []) or [args.provider]
    chosen = provider_info(args.provider)
    notes: list[str] = []
    refused: FoleyError | None = None
    for index, host in enumerate(hosts):
        asked = replace(request, provider_id=host)
        reason = unfit_reason(asked, chosen, provider_info(host)) if index else ""
        if reason:
            notes.append(f"{host_label(host)} was skipped: {reason}")
            continue
        provider = create_provider(host, {}, os.environ)
        try:
            audio = run_generation(
                provider, asked, dest_stem, on_progress=lambda line: print(line, file=sys.stderr, flush=True),
                cancel=threading.Event(), deadline_s=args.deadline,
            )
        except FoleyError as exc:
            if not falls_back(exc) or len(hosts) == 1:
                raise  # an uncertain answer, or any host off: as without this option
            refused = exc
            notes.append(f"{host_label(host)} was unavailable ({why_unavailable(exc)}), so nothing was "
                         "charged there")
            print(f"{notes[-1]}.", file=sys.stderr, flush=True)
            continue
        finally:
            provider.close()
        if index:
            print(f"Made by {host_label(host)}; {'; '.join(notes)}.", file=sys.stderr, flush=True)
        return audio
    print(f"No other host could take it: {'; '.join(notes)}.", file=sys.stderr, flush=True)
    assert refused is not None  # the chosen host is never skipped: only a refusal ends up here
    raise refused


def _generate(args: argparse.Namespace) -> int:
    request = _request(args)
    out: Path = args.out
    dest_stem = out.with_suffix("") if out.suffix else out
    audio = _generate_on_a_host(args, request, dest_stem)
    seconds = f", {audio.duration:.2f} s" if audio.duration is not None else ""
    print(f"wrote {audio.format}{seconds}", file=sys.stderr)
    if args.json:
        result = {"path": str(audio.path), "format": audio.format, "duration": audio.duration,
                  "analysis": _figures(Path(audio.path))}
        print(json.dumps(result, sort_keys=True))
    else:
        print(audio.path)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        commands = {"providers": lambda _args: _list_providers(), "measure": _measure, "generate": _generate}
        return commands[args.command](args)
    except SubmitUncertainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNCERTAIN
    except CancelledError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except FoleyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("error: interrupted; a started task may still finish and be charged.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
