"""The iris domain: the classic 150-flower dataset, cleaned into the lakehouse."""
