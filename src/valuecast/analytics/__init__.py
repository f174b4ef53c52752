"""Analytics on the customer summary: RFM groups, spend tiers, and the backtest that picks a model.

The modules are imported on use (``from valuecast.analytics.rfm import rfm_scores``) so that
importing the package costs nothing.
"""
