"""GridGIS: grid-based governance of rural townships on PostGIS."""

__version__ = "0.1.0"
