"""Frontline — 基层应急管理智慧平台."""

__version__ = "0.1.0"
