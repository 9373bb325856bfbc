"""The `playground` command (`main`), `playground run`, and `playground doctor`."""
