"""Flokk's services: one package each, plus `common` for the contracts and providers they share."""
