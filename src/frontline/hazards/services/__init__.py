"""Every state change of safety supervision. Callers use
`from frontline.hazards import services` and `services.report_hazard(...)`."""

from frontline.hazards.services.reporting import report_hazard

__all__ = ["report_hazard"]
