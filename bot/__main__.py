"""Command line: `python -m bot [run|check|scan|demo]`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
from typing import cast

from bot.config import Config, ConfigError, load_config, missing_token_problem
from bot.problems import Problem, has_errors


def _print_problems(problems: list[Problem]) -> None:
    for p in problems:
        print(p, file=sys.stderr)


def _settings() -> Config | None:
    try:
        return load_config()
    except ConfigError as exc:
        _print_problems(exc.problems)
        return None


def cmd_check() -> int:
    """Validate settings and every content file without connecting; 0 when all is well."""
    from bot.content.bundle import load_configured

    settings = _settings()
    if settings is None:
        return 1
    content, problems = load_configured(settings)
    _print_problems(problems)
    if content is None:
        errors = sum(p.is_error for p in problems)
        print(f"check failed: {errors} error(s) in {settings.content_dir}", file=sys.stderr)
        return 1
    warnings = len(problems)
    print(f"check passed: {len(content.topics)} topics, "
          f"{len(content.hotlines.codes())} crisis-line directories, "
          f"{content.detector.rule_count} crisis rules, "
          + (f"crisis model {content.crisis_model.fingerprint}" if content.crisis_model
             else "no crisis model (rules alone)")
          + (f" ({warnings} warning(s))" if warnings else ""))
    return 0


def cmd_scan(summary: bool, rules_only: bool, explain: bool) -> int:
    """Classify messages from standard input, one JSON result per line (see README)."""
    from bot.crisis.cache import default_cache_dir, load_detector
    from bot.crisis.hybrid import load_crisis_model
    from bot.crisis.onnx_encoder import Backend
    from bot.crisis.scan import Readable, run_scan

    settings = _settings()
    if settings is None:
        return 1
    detector, problems = load_detector(settings.content_dir / "crisis", default_cache_dir())
    if detector is None:
        _print_problems(problems)
        return 1
    model = policy = None
    if not rules_only and settings.crisis_model == "on":
        model, policy, model_problems = load_crisis_model(
            settings.content_dir / "crisis" / "model", Backend(settings.crisis_model_backend))
        if model is None:
            # Saying so matters: without the model, scan answers as the rules alone would.
            _print_problems(model_problems)
            if has_errors(model_problems):
                return 1
    # sys.stdin.buffer is a BufferedReader (it has read1); typeshed calls it BinaryIO.
    stdin = cast("Readable", sys.stdin.buffer)
    return run_scan(stdin, sys.stdout, sys.stderr, summary=summary,
                    detector=detector, model=model, policy=policy, explain=explain)


def cmd_run() -> int:
    """Connect to Discord and serve until SIGINT/SIGTERM."""
    from bot.app import run_until_stopped
    from bot.content.bundle import load_configured
    from bot.logs import setup_logging

    settings = _settings()
    if settings is None:
        return 1
    if settings.discord_token is None:
        _print_problems([missing_token_problem()])
        return 1
    setup_logging(settings.log_level)
    content, problems = load_configured(settings)
    _print_problems(problems)
    if content is None:
        print("not starting: fix the errors above (run `python -m bot check`)", file=sys.stderr)
        return 1
    code = asyncio.run(run_until_stopped(settings, content))
    _exit_despite_stuck_threads(code)
    return code


def _exit_despite_stuck_threads(code: int, grace: float = 1.0) -> None:
    """Exit now if a thread (a database call blocked on a locked or frozen disk) would keep
    the process alive past the shutdown budget; Docker would kill it a moment later."""
    stuck = [t for t in threading.enumerate()
             if t is not threading.main_thread() and not t.daemon]
    for thread in stuck:
        thread.join(timeout=grace / max(len(stuck), 1))
    if any(t.is_alive() for t in stuck):
        print("shutdown: a database call is still blocked; exiting without waiting for it",
              file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="connect to Discord (the default)")
    sub.add_parser("check", help="validate settings and content without connecting")
    scan = sub.add_parser("scan", help="classify messages from stdin, one JSON line each")
    scan.add_argument("--summary", action="store_true", help="print counts to stderr")
    scan.add_argument("--rules-only", action="store_true",
                      help="the rules alone, without the learned model (fast)")
    scan.add_argument("--explain", action="store_true",
                      help="say which part decided each line and the model's probability")
    sub.add_parser("demo", help="try the bot in a terminal chat, without Discord or a token")
    args = parser.parse_args(argv)
    if args.command == "check":
        return cmd_check()
    if args.command == "scan":
        return cmd_scan(args.summary, args.rules_only, args.explain)
    if args.command == "demo":
        from bot.demo import main as demo_main

        return demo_main()
    return cmd_run()


if __name__ == "__main__":
    sys.exit(main())
