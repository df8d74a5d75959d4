"""`frontline simulate`: drive the demo devices over MQTT or HTTP (docs/monitoring-demo.md)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from frontline.monitoring import simulator as sim


def demo_devices(seed: int) -> list[sim.SimDevice]:
    """The active demo devices that are not broken, with their tokens derived again."""
    from frontline.monitoring.demo import demo_token, is_broken
    from frontline.monitoring.models import Device
    from frontline.monitoring.services.devices import hash_device_token

    rows = Device.objects.filter(is_active=True).values_list(
        "code", "kind", "attributes", "offline_after_minutes", "token_hash", "region__path"
    )
    home = _station_township()
    devices = []
    for code, kind, attributes, minutes, token_hash, path in rows.order_by("code"):
        token = demo_token(seed, code)
        # Devices registered by hand (their token is not the demo's) are left alone.
        if hash_device_token(token) != token_hash or is_broken(seed, code):
            continue
        near = bool(home) and path.startswith(home)
        devices.append(sim.SimDevice(code, kind, attributes or {}, minutes, token, near))
    return devices


def _station_township() -> str:
    """The region path of the first station chief's assignment (the demo's 站长)."""
    from frontline.core.models import RoleAssignment
    from frontline.core.roles import Role

    grant = (
        RoleAssignment.objects.filter(role=Role.STATION_CHIEF, revoked_at__isnull=True)
        .select_related("region")
        .order_by("id")
        .first()
    )
    return grant.region.path if grant else ""


class Command(BaseCommand):
    help = "模拟演示设备上报遥测数据（MQTT 或 HTTP），并按计划触发告警场景（Ctrl-C 停止）"

    def add_arguments(self, parser):
        parser.add_argument(
            "--transport",
            choices=["mqtt", "http"],
            default="mqtt",
            help="上报方式，默认 mqtt（连不上时改用 http）",
        )
        parser.add_argument("--url", default=None, help="MQTT 代理地址，默认 MQTT_URL")
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="HTTP 上报的平台地址"
        )
        parser.add_argument(
            "--no-fallback", action="store_true", help="MQTT 连不上时直接退出，不改用 HTTP"
        )
        parser.add_argument(
            "--rate",
            type=float,
            default=sim.DEFAULT_RATE,
            help="每秒上报条数（每条含一台设备的全部指标）",
        )
        parser.add_argument(
            "--scenario", action="append", choices=sim.SCENARIOS, help="告警场景，可重复；默认全部"
        )
        parser.add_argument("--no-scenarios", action="store_true", help="只发送正常数据")
        parser.add_argument(
            "--every", type=float, default=sim.DEFAULT_EVERY, help="两个场景开始之间的秒数"
        )
        parser.add_argument("--duration", type=float, default=None, help="运行秒数，默认一直运行")
        parser.add_argument("--seed", type=int, default=None, help="演示数据种子，默认取已生成的")
        parser.add_argument(
            "--wait",
            action="store_true",
            help="没有演示设备时等待，而不是退出（frontline demo 使用）",
        )

    def handle(self, *args, **o):
        try:
            self._handle(o)
        except KeyboardInterrupt:  # Ctrl-C before the run began: still a clean stop
            self.say(_("模拟器已停止"))

    def _handle(self, o):
        if o["rate"] <= 0:
            raise CommandError(_("--rate 应大于 0"))
        seed = o["seed"] if o["seed"] is not None else self._seed()
        devices = self._devices(seed, o["wait"])
        scenarios = [] if o["no_scenarios"] else (o["scenario"] or list(sim.SCENARIOS))
        transport = self._transport(o)
        fastest = min((d.offline_after_minutes for d in devices), default=0)
        round_seconds = len(devices) / o["rate"]
        self.say(
            _("模拟 %(n)d 台演示设备，%(rate)g 条/秒，经 %(transport)s 上报；每轮 %(s)d 秒")
            % {
                "n": len(devices),
                "rate": o["rate"],
                "transport": transport.name,
                "s": round_seconds,
            }
        )
        if fastest and round_seconds > fastest * 60 / 2:
            self.say(
                _("提示：速率过低，部分设备（离线判定 %(m)d 分钟）可能被判为离线，请提高 --rate")
                % {"m": fastest}
            )
        plan = sim.Plan(
            devices,
            seed=seed,
            start=time.time(),
            rate=o["rate"],
            scenarios=scenarios,
            every=o["every"],
        )
        stats = sim.run(plan, transport, duration=o["duration"], say=self.say)
        self.say(
            _("共发送 %(sent)d 条，被拒 %(refused)d 条，未送达 %(lost)d 条")
            % {"sent": stats.sent, "refused": stats.refused, "lost": stats.lost}
        )

    def say(self, text: str) -> None:
        self.stdout.write(f"simulate: {text}")
        self.stdout.flush()

    def _seed(self) -> int:
        from frontline.core.demo import DEFAULT_SEED
        from frontline.core.models import DemoDataset

        dataset = DemoDataset.objects.order_by("-created_at").first()
        return dataset.seed if dataset is not None else DEFAULT_SEED

    def _devices(self, seed: int, wait: bool) -> list[sim.SimDevice]:
        devices = demo_devices(seed)
        if devices:
            return devices
        message = _("数据库中没有演示设备，请先运行 frontline seed-demo")
        if not wait:
            raise CommandError(message)
        # `frontline demo` on a database seeded before monitoring existed: stay quiet
        # rather than stop the web server and the worker with us.
        self.say(message)
        while True:
            time.sleep(3600)

    def _transport(self, o):
        if o["transport"] == "http":
            return sim.HttpTransport(o["base_url"])
        url = o["url"] or settings.MQTT_URL
        try:
            return sim.MqttTransport(url, prefix=settings.MQTT_TOPIC_PREFIX)
        except (sim.TransportError, ValueError) as exc:
            if o["no_fallback"]:
                raise CommandError(
                    _("无法连接 MQTT 服务器 %(url)s，模拟器退出（%(error)s）")
                    % {"url": url, "error": exc}
                ) from None
            self.say(
                _("无法连接 MQTT 服务器 %(url)s，改用 HTTP 上报到 %(base)s")
                % {"url": url, "base": o["base_url"]}
            )
            return sim.HttpTransport(o["base_url"])
