"""Facts of the EKS-optimized Amazon Linux 2023 images that both the core node group and Karpenter's nodes run."""

from __future__ import annotations

ROOT_DEVICE = "/dev/xvda"  # AL2023's root volume
