"""Use cases: the workspace or engine, the merchant files and the analysis put together."""
