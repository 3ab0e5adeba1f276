"""Every setting the directory reads (docs/configuration.md is generated from these)."""

from services.common.settings import COMMON

SETTINGS = COMMON
