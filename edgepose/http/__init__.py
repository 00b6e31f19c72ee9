"""The optional HTTP server: live preview, kiosk, health and metrics.

`hub.PreviewHub` is what the processing loop feeds (no extra dependencies); `server.PreviewServer`
serves it and needs the `http` extra (aiohttp, prometheus-client).
"""
