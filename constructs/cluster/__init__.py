"""Cluster layer: EKS control plane, core nodes, add-ons, Pod Identity, load balancer controller, Karpenter and
its NodePools. Imports `shared` and `network` (never `data`: the cluster deploys in parallel with the data stack)."""
