"""Analysis steps as functions of tables: summary, backtest, predictions, segments, growth."""
