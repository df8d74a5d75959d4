from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "frontline.core"
    label = "core"
    verbose_name = _("基础数据")

    def ready(self) -> None:
        from frontline.core import converters

        converters.register()
        mask_encrypted_fields_in_audit_log()


def mask_encrypted_fields_in_audit_log() -> None:
    """The generic change log must not keep in clear what the table keeps encrypted.

    auditlog registers every model from settings (it is installed before us); re-register the
    models that have encrypted fields with those fields masked, so no app has to remember.
    """
    from auditlog.registry import auditlog

    from frontline.core.crypto import EncryptedTextField

    for model in auditlog.get_models():
        # Encrypted fields, and the fields a model masks on screen (a resident's name).
        secret = [
            f.name
            for f in model._meta.fields
            if isinstance(f, EncryptedTextField) or f.name in getattr(model, "SENSITIVE_FIELDS", {})
        ]
        if not secret:
            continue
        auditlog.unregister(model)
        auditlog.register(
            model, mask_fields=secret, mask_callable="frontline.core.crypto.audit_mask"
        )
