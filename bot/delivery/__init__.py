"""Delivery: `start` makes deliveries (breaking news, channel posts, retractions), `workers`
send them to every chat through the outbox, `send` is the one retry policy for one message,
`gate` paces a process within the shared limits, `channels` posts new articles."""
