"""`frontline seed-demo --scale district|city|province [--seed N]`: fill an empty database
with a demo jurisdiction, with a progress bar per generator step."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from frontline.core.demo import (
    DEFAULT_SEED,
    SCALES,
    DemoDataExists,
    SeedResult,
    demo_accounts,
    run_seed,
)

# Summary rows worth showing to an operator, in this order; the full counts are stored in
# the DemoDataset row.
_SUMMARY_ROWS = [
    ("regions.province", "省"),
    ("regions.city", "市"),
    ("regions.county", "区县"),
    ("regions.township", "乡镇街道"),
    ("regions.village", "村社区"),
    ("regions.grid", "网格"),
    ("organizations", "单位"),
    ("people", "人员"),
    ("accounts", "账号"),
    ("role_assignments", "角色授权"),
    ("enterprises", "企业"),
    ("places", "场所"),
    ("risk_points", "风险点"),
    ("hazards", "隐患"),
    ("inspections", "检查记录"),
    ("inspection_results", "检查项结果"),
    ("inspection_events", "检查事件"),
    ("devices", "监测设备"),
    ("observations", "监测数据"),
    ("latest_values", "最新值"),
    ("alarms", "告警"),
]


class Command(BaseCommand):
    help = "生成演示数据（行政区划、网格边界、单位、人员和账号）到空数据库。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            choices=sorted(SCALES),
            default="district",
            help="district: 1 个区县；city: 10 个区县；province: 100 个区县（性能测试用）",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="随机种子（同一种子生成相同数据）"
        )
        parser.add_argument(
            "--no-accounts",
            action="store_true",
            help="不打印演示账号表（供 frontline demo 调用，它自己打印）",
        )

    def handle(self, *args, scale: str, seed: int, no_accounts: bool = False, **options):
        console = Console(file=getattr(self.stdout, "_out", self.stdout), highlight=False)
        console.print(
            f"生成演示数据：规模 [bold]{scale}[/]（{SCALES[scale].description}），种子 {seed}"
        )
        try:
            result = self._seed_with_progress(console, scale, seed)
        except DemoDataExists as exc:
            raise CommandError(str(exc)) from None
        console.print(summary_table(result))
        console.print(f"用时 {result.seconds:.1f} 秒。")
        if not no_accounts:
            console.print(accounts_table())

    def _seed_with_progress(self, console: Console, scale: str, seed: int) -> SeedResult:
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        tasks: dict[str, int] = {}
        with Progress(*columns, console=console, transient=False) as progress:

            def report(label: str, done: int, total: int) -> None:
                if label not in tasks:
                    tasks[label] = progress.add_task(label, total=total)
                progress.update(tasks[label], completed=done, total=total)

            return run_seed(scale=scale, seed=seed, progress=report)


def summary_table(result: SeedResult) -> Table:
    table = Table(title="演示数据已生成")
    table.add_column("项目")
    table.add_column("数量", justify="right")
    for key, label in _SUMMARY_ROWS:
        if key in result.counts:
            table.add_row(label, f"{result.counts[key]:,}")
    known = {key for key, _ in _SUMMARY_ROWS}
    for key, value in result.counts.items():
        # Counts contributed by other apps' generators (hazards, devices…) follow.
        if key not in known and "." not in key:
            table.add_row(key, f"{value:,}")
    return table


def accounts_table() -> Table:
    table = Table(title="演示账号（每个角色一个）")
    for column in ("角色", "用户名", "密码", "管辖范围"):
        table.add_column(column)
    for row in demo_accounts():
        table.add_row(row.role_label, row.username, row.password, row.scope)
    return table
