"""The HTTP server of `khabar run`: `server` (the application, its middleware and access
log), `links` (short links), `api` (ingest and breaking news), `ops` (health, metrics),
`webhook` (Telegram's updates); `context` is what they share."""
