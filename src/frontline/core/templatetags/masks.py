"""Masks for personal data in templates: `{{ resident.name|mask_name }}` → 张*."""

from django import template

from frontline.core.crypto import mask_id_number, mask_name, mask_phone

register = template.Library()
register.filter("mask_name", mask_name)
register.filter("mask_phone", mask_phone)
register.filter("mask_id_number", mask_id_number)
