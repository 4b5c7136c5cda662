"""Import every model module so ``Base.metadata`` is complete (Alembic, tests)."""

from gis_service.core.db import Base
from gis_service.core.models import Township
from grids import models as grid_models
from layers import models as layer_models
from layers.hazards import models as hazard_models

metadata = Base.metadata

__all__ = [
    "Base", "Township", "grid_models", "hazard_models", "layer_models", "metadata",
]  # fmt: skip
