"""``python -m bridge [run] --config bridge.yaml`` and
``python -m bridge generate-registration --config bridge.yaml [--output FILE] [--force]``."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

import yaml

from .config import BridgeConfig, ConfigError, load_config, resolve_tokens
from .registration import registration_dict


def generate_registration(cfg: BridgeConfig, output: str | None, force: bool) -> str:
    path = Path(output or cfg.appservice.registration)
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; --force replaces it (with new tokens unless the "
                          "config sets appservice.as_token and hs_token)")
    reg = registration_dict(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Application service registration for the audio rooms bridge.\n"
                    "# Give this file to the Matrix homeserver (Synapse: app_service_config_files)."
                    "\n" + yaml.safe_dump(reg, sort_keys=False))
    path.chmod(0o600)  # it holds both tokens
    return str(path)


async def run(cfg: BridgeConfig) -> None:
    from .core import Bridge

    bridge = Bridge.from_config(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await bridge.start()
    print(f"bridge ready: appservice on http://{cfg.appservice.bind_address}:"
          f"{cfg.appservice.port}, bot {bridge.bot}, audio rooms as {bridge.audio_user}",
          flush=True)
    try:
        await stop.wait()
    finally:
        await bridge.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bridge",
                                 description="Matrix bridge for audio rooms")
    ap.add_argument("command", nargs="?", default="run",
                    choices=["run", "generate-registration"])
    ap.add_argument("-c", "--config", default="bridge.yaml", help="bridge config (YAML)")
    ap.add_argument("-o", "--output", help="generate-registration: where to write the file "
                    "(default: appservice.registration from the config)")
    ap.add_argument("--force", action="store_true",
                    help="generate-registration: replace an existing file")
    ap.add_argument("--log-level", default="INFO")
    args = ap.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        cfg = load_config(args.config)
        if args.command == "generate-registration":
            path = generate_registration(cfg, args.output, args.force)
            print(f"wrote {path}: add it to your Matrix homeserver's app_service_config_files "
                  "and restart it")
            return 0
        cfg = resolve_tokens(cfg)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    try:
        asyncio.run(run(cfg))
    except OSError as e:  # e.g. the appservice port is taken
        print(f"cannot start the bridge: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
