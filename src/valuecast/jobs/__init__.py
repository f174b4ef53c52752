"""Use cases: the workspace, the file readers and the analysis steps put together."""
