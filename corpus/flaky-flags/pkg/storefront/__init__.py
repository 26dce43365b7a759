"""The storefront: catalogue pages, carts and the background jobs behind them."""
