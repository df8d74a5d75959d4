"""`frontline gb26875-gateway`: the GB/T 26875.3 TCP door for fire alarm transmission devices."""

from __future__ import annotations

import asyncio
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from frontline.monitoring.gb26875.gateway import Gateway, serve


class Command(BaseCommand):
    help = "运行 GB/T 26875.3 用户信息传输装置接入网关（TCP）"

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.GB26875_HOST, help="监听地址")
        parser.add_argument("--port", type=int, default=settings.GB26875_PORT, help="监听端口")
        parser.add_argument(
            "--idle-seconds",
            type=int,
            default=settings.GB26875_IDLE_SECONDS,
            help="连接空闲多少秒后断开",
        )

    def handle(self, *args, host, port, idle_seconds, **options):
        # One line per connection and per denied frame, even when the root level is WARNING.
        logging.getLogger("frontline.monitoring.gb26875").setLevel(logging.INFO)
        gateway = Gateway(idle_seconds=idle_seconds)
        self.stdout.write(f"gb26875-gateway listening on {host}:{port} (Ctrl-C to stop)")
        asyncio.run(self._run(gateway, host, port))
        commits = gateway.batcher.calls if gateway.batcher else 0
        self.stdout.write(f"gb26875-gateway stopped: {gateway.confirmed} confirmed, "
                          f"{gateway.denied} denied, {commits} sink calls")  # fmt: skip

    async def _run(self, gateway: Gateway, host: str, port: int) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Ctrl-C and `kill` stop accepting, close the connections and let the commit in
        # progress finish, so no confirmed frame is lost.
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(gateway, host, port, stop)
