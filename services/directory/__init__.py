"""directory: contact points nationwide, their areas and meeting places, and Norway's reference data."""
