"""`frontline worker`: the Huey consumer with every registered periodic sweep."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

from frontline.core.worker import SWEEPS, run_all_sweeps


class Command(BaseCommand):
    help = "运行后台任务进程（通知投递、到期督办、设备离线等周期巡检）"

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="每个巡检只运行一次后退出")
        parser.add_argument("--workers", type=int, default=None, help="工作线程数")

    def handle(self, *args, once, workers, **options):
        # Importing every app's `tasks` module registers its sweeps, as Huey's consumer does.
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("tasks")

        if once:
            for name, result in run_all_sweeps().items():
                self.stdout.write(f"{name}: {result}")
            return
        self.stdout.write(f"sweeps: {', '.join(sorted(SWEEPS)) or '-'}")
        huey_options = {} if workers is None else {"workers": workers}
        call_command("run_huey", **huey_options)
