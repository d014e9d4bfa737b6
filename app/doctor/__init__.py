"""`fieldcase doctor`: a plain-English health check of this laptop's Fieldcase, safe to read
out to the help desk. It reads the profile's facts without the password where it can, the site
policy, the service's health and TLS, and the clock; it never changes anything."""

from __future__ import annotations

from app.doctor.checks import check_tls, render_text, run_checks

__all__ = ["check_tls", "render_text", "run_checks"]
