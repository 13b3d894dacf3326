"""Government registries (civil, land, vehicle, tax) as small services behind the bus.

Each registry owns its database and answers X-Road SOAP and REST requests from its security
server over plain HTTP; the bus never imports an adapter, so a ministry can run its own copy.
"""
