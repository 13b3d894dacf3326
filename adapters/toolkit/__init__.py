"""What every registry adapter needs: the SOAP envelope, register numbers, bounded bodies.

A ministry developer copies this package next to their registry; it depends only on the bus's
hardened XML parser (`xroad.messages.xml.parse_untrusted`) and Starlette.
"""
