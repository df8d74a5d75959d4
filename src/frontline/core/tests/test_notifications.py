"""The notification outbox: queued in the change's transaction, delivered by the worker through
each adapter against real local receivers, retried with back-off, never lost."""

import json
import uuid
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from huey.storage import SqliteStorage

from frontline.core import services
from frontline.core.delivery.webhook import signature
from frontline.core.models import Channel, Notification, NotificationStatus, WebhookEndpoint
from frontline.core.services import delivery
from frontline.core.testing import make_person
from frontline.core.tests.http_receiver import start_receiver


@pytest.fixture
def receiver():
    server = start_receiver(slow_seconds=2)
    yield server
    server.server.shutdown()


def webhook(receiver, path="/ok", **kw):
    return WebhookEndpoint.objects.create(
        name=f"县平台{uuid.uuid4().hex[:6]}", url=receiver.url(path), secret="s3cret", **kw
    )


def test_notify_users_writes_in_app_rows_and_delivers_after_commit(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rows = services.notify_users(
            [world.same, world.parent], kind="test", subject="演练通知", body="明早 9 点集合"
        )
    assert {r.recipient for r in rows} == {world.same, world.parent}
    assert all(r.channel == Channel.IN_APP for r in rows)
    statuses = set(Notification.objects.values_list("status", flat=True))
    assert statuses == {NotificationStatus.DELIVERED}


def test_one_transaction_schedules_one_delivery_job(world, django_capture_on_commit_callbacks):
    # An alarm storm queues hundreds of notifications: one job for all, not one each.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.notify_users([world.same, world.parent], kind="test", subject="一")
        services.notify_users([world.grid_worker], kind="test", subject="二")
    assert len(callbacks) == 1
    statuses = set(Notification.objects.values_list("status", flat=True))
    assert statuses == {NotificationStatus.DELIVERED} and Notification.objects.count() == 3


def test_rolled_back_change_sends_nothing(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notify_users([world.same], kind="test", subject="x")
    # Nothing runs until commit: the delivery is only scheduled.
    assert len(callbacks) == 1
    assert Notification.objects.get().status == NotificationStatus.QUEUED


def test_webhook_is_signed_json(world, receiver):
    endpoint = webhook(receiver)
    services.notify_users(
        [world.same], kind="task_overdue", subject="任务逾期", related=world.village
    )
    row = Notification.objects.get(channel=Channel.WEBHOOK)
    assert delivery.deliver_notification(row.pk) == NotificationStatus.DELIVERED
    (request,) = receiver.requests
    body = json.loads(request.body)
    assert body["kind"] == "task_overdue" and body["subject"] == "任务逾期"
    assert body["related"] == {"type": "core.region", "id": str(world.village.pk)}
    expected = signature(endpoint.secret, request.headers["X-Frontline-Timestamp"], request.body)
    assert request.headers["X-Frontline-Signature"] == expected
    assert request.headers["X-Frontline-Delivery"] == str(row.pk)


def test_webhook_kinds_filter(world, receiver):
    webhook(receiver, kinds=["alarm"])
    services.notify_users([world.same], kind="task_overdue", subject="x")
    assert not Notification.objects.filter(channel=Channel.WEBHOOK).exists()


def test_failing_webhook_is_retried_with_backoff_then_failed(world, receiver):
    webhook(receiver, path="/fail")
    services.notify_users([world.same], kind="test", subject="x")
    row = Notification.objects.get(channel=Channel.WEBHOOK)
    now = timezone.now()
    for attempt in range(1, delivery.max_attempts()):
        assert delivery.deliver_notification(row.pk, now=now) == NotificationStatus.QUEUED
        row.refresh_from_db()
        assert row.attempts == attempt
        assert row.next_attempt_at == now + timedelta(seconds=delivery.BACKOFF_SECONDS[attempt - 1])
        assert "HTTP 500" in row.last_error
        # Not due yet: a sweep in between leaves it alone.
        assert delivery.deliver_notification(row.pk, now=now) is None
        now = row.next_attempt_at
    assert delivery.deliver_notification(row.pk, now=now) == NotificationStatus.FAILED
    row.refresh_from_db()
    assert row.attempts == delivery.max_attempts()
    assert "HTTP 500" in row.last_error
    assert len(receiver.requests) == delivery.max_attempts()


def test_webhook_timeout_is_retried(world, receiver, settings):
    settings.NOTIFY_HTTP_TIMEOUT = 0.3
    webhook(receiver, path="/slow")
    services.notify_users([world.same], kind="test", subject="x")
    row = Notification.objects.get(channel=Channel.WEBHOOK)
    assert delivery.deliver_notification(row.pk) == NotificationStatus.QUEUED
    row.refresh_from_db()
    assert "timed out" in row.last_error and row.attempts == 1


def test_webhook_refusal_fails_at_once(world, receiver):
    webhook(receiver, path="/refuse")
    services.notify_users([world.same], kind="test", subject="x")
    row = Notification.objects.get(channel=Channel.WEBHOOK)
    assert delivery.deliver_notification(row.pk) == NotificationStatus.FAILED
    row.refresh_from_db()
    assert "HTTP 403" in row.last_error and row.attempts == 1


def test_sms_goes_through_the_http_gateway_template(world, receiver, settings):
    settings.SMS_GATEWAY_URL = receiver.url("/ok")
    settings.SMS_GATEWAY_TEMPLATE = '{"mobile": "{phone}", "content": "{text}", "sign": "应急"}'
    settings.SMS_GATEWAY_TOKEN = "gw-token"
    person = world.same.person
    services.update_person(actor=None, person=person, mobile="13812345678")
    services.notify_users(
        [world.same], kind="test", subject='台风"梅花"预警', body="请立即转移", sms=True
    )
    row = Notification.objects.get(channel=Channel.SMS)
    assert row.address == "13812345678"
    assert delivery.deliver_notification(row.pk) == NotificationStatus.SENT
    (request,) = receiver.requests
    body = json.loads(request.body)
    assert body["mobile"] == "13812345678"
    assert body["content"] == '【基层应急】台风"梅花"预警：请立即转移'
    assert request.headers["Authorization"] == "Bearer gw-token"


def test_sms_without_gateway_fails_with_a_clear_error(world, settings):
    settings.SMS_GATEWAY_URL = ""
    services.update_person(actor=None, person=world.same.person, mobile="13812345678")
    services.notify_users([world.same], kind="test", subject="x", sms=True)
    row = Notification.objects.get(channel=Channel.SMS)
    assert delivery.deliver_notification(row.pk) == NotificationStatus.FAILED
    row.refresh_from_db()
    assert "SMS_GATEWAY_URL" in row.last_error


def test_email_goes_through_django_mail(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    world.same.email = "duty@example.org"
    world.same.save()
    services.notify_users([world.same], kind="test", subject="周报", body="见附件", sms=True)
    row = Notification.objects.get(channel=Channel.EMAIL)
    assert delivery.deliver_notification(row.pk) == NotificationStatus.SENT
    assert mail.outbox[0].subject == "周报" and mail.outbox[0].to == ["duty@example.org"]


def at_local(hour: int, minute: int = 0) -> datetime:
    local = timezone.localtime().replace(hour=hour, minute=minute, second=0, microsecond=0)
    return local


def test_quiet_hours_hold_sms_but_never_urgent(world, receiver, settings):
    settings.NOTIFY_QUIET_HOURS = "22:00-07:00"
    settings.SMS_GATEWAY_URL = receiver.url("/ok")
    services.update_person(actor=None, person=world.same.person, mobile="13812345678")
    night = at_local(23, 30)
    services.notify_users([world.same], kind="test", subject="例行", sms=True)
    routine = Notification.objects.get(channel=Channel.SMS)
    Notification.objects.filter(pk=routine.pk).update(next_attempt_at=night)
    assert delivery.deliver_notification(routine.pk, now=night) == NotificationStatus.QUEUED
    routine.refresh_from_db()
    assert timezone.localtime(routine.next_attempt_at).hour == 7
    assert routine.attempts == 0 and not receiver.requests

    services.notify_users([world.same], kind="alarm", subject="火警", sms=True, urgent=True)
    alarm = Notification.objects.get(channel=Channel.SMS, urgent=True)
    Notification.objects.filter(pk=alarm.pk).update(next_attempt_at=night)
    assert delivery.deliver_notification(alarm.pk, now=night) == NotificationStatus.SENT


def test_a_crashed_worker_loses_nothing(world):
    services.notify_users([world.same], kind="test", subject="x")
    row = Notification.objects.get()
    now = timezone.now()
    # A worker claims the row and dies before recording anything.
    assert delivery._claim(row.pk, now)
    assert delivery.deliver_due_notifications(now=now) == 0
    later = now + timedelta(seconds=delivery.CLAIM_SECONDS + 1)
    assert delivery.deliver_due_notifications(now=later) == 1
    row.refresh_from_db()
    assert row.status == NotificationStatus.DELIVERED


def test_two_workers_never_send_one_message_twice(world, receiver):
    webhook(receiver)
    services.notify_users([world.same], kind="test", subject="x", webhooks=True)
    row = Notification.objects.get(channel=Channel.WEBHOOK)
    now = timezone.now()
    results = [delivery.deliver_notification(row.pk, now=now) for _ in range(3)]
    assert results.count(NotificationStatus.DELIVERED) == 1
    assert len(receiver.requests) == 1


@pytest.fixture
def keep_test_connection(monkeypatch):
    # A task run by the consumer closes the database connection around itself; here that
    # connection holds the test's transaction (PostgreSQL), so it must stay open.
    import huey.contrib.djhuey as djhuey

    monkeypatch.setattr(djhuey, "close_old_connections", lambda: None)


def run_through_queue(storage, world, django_capture_on_commit_callbacks) -> Notification:
    """Queue a notification for real (not inline) and let the consumer's code path run it."""
    original = HUEY.storage
    HUEY.immediate = False
    HUEY.storage = storage
    try:
        storage.flush_all()
        with django_capture_on_commit_callbacks(execute=True):
            services.notify_users([world.same], kind="test", subject="经由队列")
        assert HUEY.pending_count() == 1
        task = HUEY.dequeue()
        HUEY.execute(task)
        assert HUEY.pending_count() == 0
    finally:
        HUEY.storage = original
        HUEY.immediate = True
    return Notification.objects.get()


def test_delivery_through_the_sqlite_queue(
    world, tmp_path, django_capture_on_commit_callbacks, keep_test_connection
):
    storage = SqliteStorage(name="frontline-test", filename=str(tmp_path / "queue.sqlite3"))
    row = run_through_queue(storage, world, django_capture_on_commit_callbacks)
    assert row.status == NotificationStatus.DELIVERED


def test_delivery_through_the_redis_queue(
    world, django_capture_on_commit_callbacks, redis_url, keep_test_connection
):
    from huey.storage import RedisStorage

    storage = RedisStorage(name=f"frontline-test-{uuid.uuid4().hex[:8]}", url=redis_url)
    try:
        row = run_through_queue(storage, world, django_capture_on_commit_callbacks)
    finally:
        storage.flush_all()
    assert row.status == NotificationStatus.DELIVERED


def test_inbox_api(world):
    services.notify_users([world.same], kind="test", subject="一", webhooks=False)
    services.notify_users([world.same], kind="test", subject="二", webhooks=False)
    services.notify_users([world.parent], kind="test", subject="别人的", webhooks=False)
    client = world.client_for(world.same)
    inbox = client.get("/api/v1/notifications").json()
    assert [n["subject"] for n in inbox["items"]] == ["二", "一"]
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 2}
    first = inbox["items"][0]["id"]
    assert client.post(f"/api/v1/notifications/{first}/read").status_code == 200
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 1}
    others = Notification.objects.get(subject="别人的")
    assert client.post(f"/api/v1/notifications/{others.pk}/read").status_code == 404
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 1}
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 0}


def test_person_without_account_gets_no_in_app_row(world):
    person = make_person(world.village)
    assert person.user is None
    assert services.notify_users([], kind="test", subject="x", webhooks=False) == []


def test_inbox_page_badge_and_open(world):
    services.notify_users(
        [world.same], kind="test", subject="请核查隐患", link="/people/", webhooks=False
    )
    services.notify_users([world.parent], kind="test", subject="别人的消息", webhooks=False)
    client = world.client_for(world.same)
    home = client.get("/").content.decode()
    assert "data-unread>1<" in home
    page = client.get("/inbox/").content.decode()
    assert "请核查隐患" in page and "别人的消息" not in page
    own = Notification.objects.get(subject="请核查隐患")
    opened = client.post(f"/inbox/{own.pk}/open/")
    assert opened.status_code == 302 and opened["Location"] == "/people/"
    own.refresh_from_db()
    assert own.read_at is not None
    assert "data-unread" not in client.get("/").content.decode()
    other = Notification.objects.get(subject="别人的消息")
    assert client.post(f"/inbox/{other.pk}/open/").status_code == 404


def test_inbox_never_redirects_off_site(world):
    services.notify_users(
        [world.same], kind="test", subject="x", link="https://evil.example/", webhooks=False
    )
    client = world.client_for(world.same)
    row = Notification.objects.get()
    assert client.post(f"/inbox/{row.pk}/open/")["Location"] == "/inbox/"
