"""Console pages: one APIRouter per module (`router`), included by `xroad.console.app`."""
