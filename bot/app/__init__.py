"""The wiring: `build` (the Telegram Application with its handlers and typed context),
`runtime` (the background parts of a process: delivery, channel posts, feeds), `serve`
(`khabar run`: all of it with the HTTP server, polling or webhook, until SIGTERM)."""
