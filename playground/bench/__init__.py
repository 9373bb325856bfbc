"""`playground bench`: each method measured in its own process (seconds, peak RSS from the OS)."""
