"""The use cases: the store, the importers and the analysis put together for one command."""
