"""Shared building blocks every layer may import: KMS key, log group, lifecycle, acknowledgments, upstream policy
documents, the pinned Helm release and values helpers, tags and node-image facts. Imports nothing from any layer."""
