"""Everything that touches Redis: keys, articles, search, short links, subscribers, queues."""
