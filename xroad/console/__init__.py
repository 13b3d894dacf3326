"""The web console: server-rendered pages over the central server's and the security
servers' admin APIs (ADR 0009). `create_app(ConsoleSettings)` builds it."""
