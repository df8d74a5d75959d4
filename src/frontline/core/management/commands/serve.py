"""`frontline serve`: the web server (uvicorn, ASGI) for production behind a reverse proxy."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from rich.console import Console

from frontline.core.processes import ProcessGroup, web_command
from frontline.env import env_int, env_str


class Command(BaseCommand):
    help = "启动 Web 服务（uvicorn）。生产环境放在反向代理之后，可多进程、多实例。"

    def add_arguments(self, parser):
        parser.add_argument("--host", default=env_str("FRONTLINE_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env_int("FRONTLINE_PORT", 8000))
        parser.add_argument("--workers", type=int, default=env_int("WEB_CONCURRENCY", 1, minimum=1))

    def handle(self, *args, host, port, workers, **options):
        group = ProcessGroup(Console())
        group.add("web", web_command(host=host, port=port, workers=workers))
        raise SystemExit(group.run())
