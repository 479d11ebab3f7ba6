"""micro-user: a self-hosted user and access service for microservices."""

__version__ = "0.1.0"
