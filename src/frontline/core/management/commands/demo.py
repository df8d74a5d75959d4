"""`frontline demo`: migrate, seed the demo district when the database is empty, and run the
platform's processes until Ctrl-C stops them all."""

from __future__ import annotations

import hashlib
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from frontline.core.processes import ProcessGroup, web_command


class Command(BaseCommand):
    help = "迁移数据库、在空库中生成演示辖区，并启动平台（Ctrl-C 全部停止）"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--scale", default="district", choices=["district", "city"])
        parser.add_argument("--no-serve", action="store_true", help="只准备数据，不启动服务")

    def handle(self, *args, host, port, scale, no_serve, **options):
        console = Console()
        console.print(_("[bold]正在迁移数据库…[/bold]"))
        call_command("migrate", interactive=False, verbosity=0)
        self._seed_when_empty(console, scale)
        self._print_accounts(console, host, port)
        if no_serve:
            return
        group = ProcessGroup(console)
        group.add("web", web_command(host=host, port=port))
        for name, command in demo_companions(host=host, port=port):
            group.add(name, command)
        raise SystemExit(group.run())

    def _seed_when_empty(self, console: Console, scale: str) -> None:
        from frontline.core.models import DemoDataset, Region

        if Region.objects.exists():
            dataset = DemoDataset.objects.order_by("-created_at").first()
            if dataset is not None:
                console.print(
                    _("已有演示数据（%(scale)s，种子 %(seed)s），跳过生成。")
                    % {"scale": dataset.scale, "seed": dataset.seed}
                )
            return
        call_command("seed_demo", scale=scale, no_accounts=True)

    def _print_accounts(self, console: Console, host: str, port: int) -> None:
        from frontline.core.demo import demo_accounts

        table = Table(title=_("演示账号（每个角色一个）"))
        for column in (_("角色"), _("用户名"), _("密码"), _("管辖范围")):
            table.add_column(column)
        for row in demo_accounts():
            table.add_row(*row)
        console.print(table)
        console.print(
            _("[bold green]平台地址：http://%(host)s:%(port)s/[/bold green]  （Ctrl-C 停止）")
            % {"host": host, "port": port}
        )


def demo_companions(host: str = "127.0.0.1", port: int = 8000) -> list[tuple[str, list[str]]]:
    """Processes that run beside the web server in the demo (worker, simulators), as the
    apps that need them add them."""
    return [
        ("worker", [sys.executable, "-m", "frontline", "worker"]),
        *monitoring_companions(host, port),
    ]


def monitoring_companions(host: str, port: int) -> list[tuple[str, list[str]]]:
    """The telemetry simulator (docs/monitoring-demo.md). Over MQTT, with the MQTT door
    beside it, when MQTT_URL's broker answers; otherwise over HTTP to this web server, since
    a fresh machine may have no broker."""
    from django.conf import settings

    from frontline.core.processes import simulator_command
    from frontline.monitoring.simulator import broker_answers

    frontline = [sys.executable, "-m", "frontline"]
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base_url = f"http://{local}:{port}"
    if broker_answers(settings.MQTT_URL):
        return [
            # Its own persistent session, apart from a real `mqtt-ingest` or another demo
            # (another checkout, another var/) on the same broker.
            ("mqtt-ingest", [*frontline, "mqtt-ingest", "--client-id", _demo_client_id()]),
            ("simulator", simulator_command(transport="mqtt", base_url=base_url)),
        ]
    return [("simulator", simulator_command(transport="http", base_url=base_url))]


def _demo_client_id() -> str:
    from django.conf import settings

    digest = hashlib.sha256(str(settings.VAR_DIR.resolve()).encode()).hexdigest()[:10]
    return f"frontline-demo-{digest}"
