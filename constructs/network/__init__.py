"""Network layer: the VPC and the data-clients security group. Imports only `constructs.shared`."""
