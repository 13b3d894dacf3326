"""What every registry adapter needs, so that a new registry is its model plus a few dozen lines.

- `app`: the app factory (`build_registry_app`): SOAP endpoint and WSDL, health, error forms;
- `settings`, `database`: settings every registry has; its database created and seeded;
- `soap`, `payload`: X-Road SOAP envelopes, arguments, business faults; one answer model
  written as JSON and as XML;
- `clients`, `disclosure`: who asks (as the security server says) and what they may see;
- `register_number`, `errors`, `http`: Mongolian register numbers, the errors a registry
  raises on purpose, bounded request bodies;
- `scaffold`: `xroad adapter new NAME` writes a new registry from its templates.

It depends only on the bus's identifiers and hardened XML parser (`xroad.identifiers`,
`xroad.messages.xml.parse_untrusted`), FastAPI, SQLAlchemy and pydantic.
"""
