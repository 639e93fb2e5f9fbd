"""The topics the whatsapp service consumes and the handlers behind them."""
