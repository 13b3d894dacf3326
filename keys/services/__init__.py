"""The dev PKI's network services: an OCSP responder and a time-stamping authority.

TEST ONLY, like `keys.devpki`: a production instance points its security servers at the
country's real OCSP responder and TSA instead.
"""

from keys.services.ocsp_responder import create_ocsp_app, run_ocsp_responder
from keys.services.tsa_server import create_tsa_app, run_tsa

__all__ = ["create_ocsp_app", "create_tsa_app", "run_ocsp_responder", "run_tsa"]
