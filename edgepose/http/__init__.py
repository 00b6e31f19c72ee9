"""The optional HTTP server: live preview, kiosk, health and metrics."""
