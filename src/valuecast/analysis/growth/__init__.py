"""Growth tables of the customers and orders: cohorts, channels, products, replenishment, stage."""
